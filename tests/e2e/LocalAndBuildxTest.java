package e2e;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildx;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.Registry;
import support.TestSshd;

/**
 * The local driver with a real buildkitd on this host (no VM), building and pushing to a real registry, then the
 * same machine as a node of a real buildx builder, building through docker-buildx.
 */
class LocalAndBuildxTest {
    Path buildctl;
    Registry registry;
    Path work;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        String path = System.getenv().getOrDefault("PATH", "");
        Assumptions.assumeTrue(Program.findOnPath("buildkitd", path).isPresent(),
                "buildkitd is not on PATH: BuildKit is in no Debian package; put a BuildKit release on PATH");
        buildctl = Program.findOnPath("buildctl", path).orElse(null);
        Assumptions.assumeTrue(buildctl != null, "buildctl is not on PATH: put a BuildKit release on PATH");
        registry = Registry.start();
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmL");
        cli = new CliRunner(Map.of("PATH", path, "HOME", work.toString(),
                "DOCKER_CONFIG", work.resolve("docker").toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
        Files.writeString(work.resolve("hello.txt"), "hello from the local driver\n");
        Files.writeString(work.resolve("Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "here");
        }
        if (registry != null) {
            registry.close();
        }
        if (work != null) {
            TestSshd.deleteTree(work);
        }
    }

    @Test
    void buildsAndPushesWithBuildctlAndThroughABuildxBuilder() throws Exception {
        Path socket = work.resolve("here.sock");
        Run start = cli.run("start", "here", "--driver", "local", "--unix", socket.toString(), "--timeout", "60s");
        assertThat(start.code()).as(start.toString()).isZero();

        run(List.of(buildctl.toString(), "--addr", "unix://" + socket, "build", "--frontend", "dockerfile.v0",
                "--local", "context=" + work, "--local", "dockerfile=" + work, "--output",
                "type=image,name=" + registry.address() + "/local/hello:1,push=true,registry.insecure=true"));
        assertThat(registry.get("/v2/local/hello/tags/list")).startsWith("200").contains("\"1\"");

        Buildx buildx;
        try {
            buildx = Buildx.find(Host.of(cli.env(), Log.silent()));
        } catch (MachineException e) {
            Assumptions.abort("docker-buildx is not installed: " + e.getMessage());
            return;
        }
        Run joined = cli.run("buildx", "here", "--builder", "e2e");
        assertThat(joined.code()).as(joined.toString()).isZero();
        Program.Result build = buildx.run(List.of("build", "--builder", "e2e", "--output",
                "type=image,name=" + registry.address() + "/local/hello:2,push=true,registry.insecure=true",
                work.toString()));
        assertThat(build.exitCode()).as(build.stderr()).isZero();
        assertThat(registry.get("/v2/local/hello/tags/list")).contains("\"2\"");

        assertThat(cli.run("delete", "here", "--force").code()).isZero();
        assertThat(buildx.run(List.of("inspect", "e2e")).exitCode()).isNotZero();
    }

    private static void run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
    }

    @Test
    void aTlsEndpointServesBuildctlWithThePrintedFlags() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Run start = cli.run("start", "here", "--driver", "local", "--tcp", Integer.toString(port), "--tls",
                "--timeout", "60s");
        assertThat(start.code()).as(start.toString()).isZero();
        String flags = start.out().lines().filter(l -> l.startsWith("# buildctl ")).findFirst().orElseThrow();
        List<String> command = new java.util.ArrayList<>(List.of(buildctl.toString()));
        for (String word : flags.substring("# buildctl ".length()).split(" ")) {
            command.add(word.replace("'", ""));
        }

        List<String> workers = new java.util.ArrayList<>(command);
        workers.addAll(List.of("debug", "workers"));
        run(workers);
        command.addAll(List.of("build", "--frontend", "dockerfile.v0", "--local", "context=" + work, "--local",
                "dockerfile=" + work, "--output",
                "type=image,name=" + registry.address() + "/local/tls:1,push=true,registry.insecure=true"));
        run(command);
        assertThat(registry.get("/v2/local/tls/tags/list")).contains("\"1\"");
    }
}
