package e2e;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.exec.Program;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.Registry;
import support.TestSshd;

/**
 * The local driver as an ordinary user: the tool itself runs as the guest account, so buildkitd runs rootless under
 * rootlesskit, with its state in that user's machine folder. Builds and pushes through it.
 */
class RootlessLocalTest {
    static final String USER = "bkmguest";

    Path work;
    Registry registry;
    String path;

    @BeforeEach
    void setUp() throws Exception {
        path = "/usr/bin:/bin";
        String ours = System.getenv().getOrDefault("PATH", "");
        Path buildkitd = Program.findOnPath("buildkitd", ours).orElse(null);
        Assumptions.assumeTrue(buildkitd != null && Program.findOnPath("buildctl", ours).isPresent(),
                "buildkitd or buildctl is not on PATH: put a BuildKit release on PATH");
        Assumptions.assumeTrue(Program.findOnPath("rootlesskit", ours).isPresent(),
                "rootlesskit is not installed: apt-get install rootlesskit uidmap");
        Assumptions.assumeTrue(new com.sun.security.auth.module.UnixSystem().getUid() == 0,
                "needs root to run the tool as the ordinary user " + USER);
        Assumptions.assumeTrue(new ProcessBuilder("id", USER).start().waitFor() == 0,
                "needs the ordinary user " + USER + ": useradd -m " + USER);
        path = buildkitd.getParent() + ":" + path;
        registry = Registry.start();
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmR");
        copyClasspath(work.resolve("cp"));
        Files.createDirectories(work.resolve("home"));
        Files.writeString(work.resolve("home/hello.txt"), "hello, rootless\n");
        Files.writeString(work.resolve("home/Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
        run(List.of("chmod", "-R", "a+rX", work.toString()));
        run(List.of("chown", "-R", USER, work.resolve("home").toString()));
    }

    /** The guest account cannot read root's caches, so it gets a copy of this JVM's classpath. */
    private static void copyClasspath(Path target) throws IOException {
        Files.createDirectories(target);
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Path.of(entry);
            Path copy = target.resolve(i++ + "-" + source.getFileName());
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.walk(source)) {
                    for (Path file : files.toList()) {
                        Path to = copy.resolve(source.relativize(file).toString());
                        if (Files.isDirectory(file)) {
                            Files.createDirectories(to);
                        } else {
                            Files.copy(file, to);
                        }
                    }
                }
            } else if (Files.exists(source)) {
                Files.copy(source, copy);
            }
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        if (work != null) {
            asGuest("delete", "--force", "-q", "rootless");
            TestSshd.deleteTree(work);
        }
        if (registry != null) {
            registry.close();
        }
    }

    private String asGuest(String... args) throws Exception {
        List<String> classpath = new ArrayList<>();
        try (Stream<Path> entries = Files.list(work.resolve("cp"))) {
            entries.sorted().forEach(e -> classpath.add(e.toString()));
        }
        List<String> command = new ArrayList<>(List.of("runuser", "-u", USER, "--", "env",
                "HOME=" + work.resolve("home"), "PATH=" + path,
                "BUILDKIT_MACHINE_HOME=" + work.resolve("home/state"),
                "java", "-cp", String.join(File.pathSeparator, classpath), "buildkit_machine"));
        command.addAll(List.of(args));
        return run(command);
    }

    private static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + "\n" + output).isZero();
        return output;
    }

    @Test
    void anOrdinaryUserGetsARootlessDaemonThatBuildsAndPushes() throws Exception {
        Path socket = work.resolve("home/rootless.sock");

        String start = asGuest("start", "rootless", "--driver", "local", "--unix", socket.toString());

        assertThat(start).contains("export BUILDKIT_HOST=").doesNotContain("running as root");
        String buildctl = Program.findOnPath("buildctl", path).orElseThrow().toString();
        Path context = work.resolve("home");
        run(List.of(buildctl, "--addr", "unix://" + socket, "build", "--frontend", "dockerfile.v0",
                "--local", "context=" + context, "--local", "dockerfile=" + context, "--output",
                "type=image,name=" + registry.address() + "/rootless/hello:1,push=true,registry.insecure=true"));
        assertThat(registry.get("/v2/rootless/hello/tags/list")).contains("\"1\"");

        asGuest("stop", "rootless");

        assertThat(socket).doesNotExist();
        List<String> left = ProcessHandle.allProcesses()
                .filter(p -> p.info().user().map(USER::equals).orElse(false))
                .flatMap(p -> p.info().command().stream())
                .filter(c -> c.endsWith("/rootlesskit") || c.endsWith("/buildkitd"))
                .toList();
        assertThat(left).as("processes the daemon left").isEmpty();
    }
}
