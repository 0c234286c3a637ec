package e2e;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.exec.Program;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.GuestBoot;
import support.LimaDouble;
import support.Registry;
import support.TestSshd;

/**
 * End to end with a real rootless buildkitd in the double's guest: build an image with buildctl through the tool's
 * endpoints and push it to a real registry on loopback. Skipped, with the reason, where BuildKit is not installed.
 */
class BuildAndPushTest {
    Path buildkitd;
    Path buildctl;
    Path rootlesskit;
    TestSshd sshd;
    LimaDouble lima;
    Registry registry;
    Path work;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        String path = System.getenv().getOrDefault("PATH", "");
        buildkitd = need("buildkitd", path, "BuildKit is in no Debian package; put a BuildKit release on PATH");
        buildctl = need("buildctl", path, "BuildKit is in no Debian package; put a BuildKit release on PATH");
        rootlesskit = need("rootlesskit", path, "apt-get install rootlesskit uidmap");
        sshd = TestSshd.start();
        Assumptions.assumeFalse("root".equals(sshd.user()),
                "rootless buildkitd needs an ordinary guest user: useradd -m bkmguest && usermod -p '*' bkmguest");
        registry = Registry.start();
        lima = new LimaDouble(sshd, GuestBoot.rootlessBuildkitd(sshd, buildkitd, rootlesskit));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkme");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
        Files.writeString(work.resolve("hello.txt"), "hello from buildkit-machine\n");
        Files.writeString(work.resolve("Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
    }

    private static Path need(String program, String path, String how) {
        var found = Program.findOnPath(program, path);
        Assumptions.assumeTrue(found.isPresent(), program + " is not on PATH: " + how);
        return found.get();
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "e2e");
        }
        for (AutoCloseable closeable : new AutoCloseable[] {lima, registry, sshd}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        if (work != null) {
            TestSshd.deleteTree(work);
        }
    }

    @Test
    void buildsAndPushesThroughTheUnixSocketAndTheTcpPort() throws Exception {
        Path socket = work.resolve("buildkitd.sock");
        Run unix = cli.run("start", "e2e", "--driver", "lima", "--unix", socket.toString(), "--timeout", "120s");
        assertThat(unix.code()).as(unix.toString()).isZero();

        buildAndPush("unix://" + socket, "1");

        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Run tcp = cli.run("start", "e2e", "--tcp", Integer.toString(port));
        assertThat(tcp.code()).as(tcp.toString()).isZero();

        buildAndPush("tcp://127.0.0.1:" + port, "2");

        assertThat(registry.get("/v2/e2e/hello/tags/list")).startsWith("200").contains("\"1\"", "\"2\"");
        assertThat(cli.run("stop", "e2e").code()).isZero();
    }

    private void buildAndPush(String address, String tag) throws Exception {
        List<String> command = List.of(buildctl.toString(), "--addr", address, "build",
                "--frontend", "dockerfile.v0", "--local", "context=" + work, "--local", "dockerfile=" + work,
                "--output", "type=image,name=" + registry.address() + "/e2e/hello:" + tag
                        + ",push=true,registry.insecure=true");
        Process build = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(build.getInputStream().readAllBytes());
        assertThat(build.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(build.exitValue()).as(output).isZero();
    }

    @Test
    void buildsAndPushesThroughATlsEndpointServedByTheKeeper() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Run tls = cli.run("start", "e2e", "--driver", "lima", "--tcp", Integer.toString(port), "--tls",
                "--timeout", "120s");
        assertThat(tls.code()).as(tls.toString()).isZero();
        Path client = work.resolve("state/e2e/tls/client");

        List<String> command = List.of(buildctl.toString(), "--addr", "tcp://127.0.0.1:" + port, "--tlsdir",
                client.toString(), "--tlsservername", "buildkitd", "build", "--frontend", "dockerfile.v0",
                "--local", "context=" + work, "--local", "dockerfile=" + work, "--output",
                "type=image,name=" + registry.address() + "/e2e/tls:1,push=true,registry.insecure=true");
        Process build = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(build.getInputStream().readAllBytes());
        assertThat(build.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(build.exitValue()).as(output).isZero();
        assertThat(registry.get("/v2/e2e/tls/tags/list")).contains("\"1\"");
    }
}
