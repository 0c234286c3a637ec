package integration;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * The real entry script, run as users run it: through {@code scripts/jbang}, directly and through the catalog,
 * against the limactl double. Also runs the library example in {@code scripts/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SmokeTest {
    final Path repo = LimaDouble.repoDir();
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    Map<String, String> env;

    @BeforeAll
    void startGuest() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkms");
        env = new HashMap<>(System.getenv());
        env.putAll(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
    }

    @AfterAll
    void stopGuest() throws Exception {
        if (env != null) {
            for (String name : List.of("smoke", "smoke-fg", "smoke-example")) {
                jbang(List.of("buildkit-machine.java", "delete", "-f", "-q", name), 120);
            }
        }
        if (lima != null) {
            lima.close();
        }
        if (sshd != null) {
            sshd.close();
        }
        TestSshd.deleteTree(work);
    }

    record Run(int code, String out, String err) {
    }

    Run jbang(List<String> args, int seconds) throws IOException, InterruptedException {
        Process process = start(args);
        boolean done = process.waitFor(seconds, TimeUnit.SECONDS);
        if (!done) {
            process.destroyForcibly();
        }
        String out = Files.readString(work.resolve("out"), StandardCharsets.UTF_8);
        String err = Files.readString(work.resolve("err"), StandardCharsets.UTF_8);
        assertThat(done).as("finished in " + seconds + "s: " + args + "\n" + err).isTrue();
        return new Run(process.exitValue(), out, err);
    }

    Process start(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(repo.resolve("scripts/jbang").toString(), "--quiet"));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).directory(repo.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(work.resolve("out").toFile())
                .redirectError(work.resolve("err").toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        return builder.start();
    }

    @Test
    void theEntryScriptStartsReportsAndStopsAMachine() throws Exception {
        Path socket = work.resolve("smoke.sock");

        Run start = jbang(List.of("buildkit-machine.java", "start", "smoke", "--unix", socket.toString()), 300);
        assertThat(start.code()).as(start.err()).isZero();
        assertThat(start.out()).isEqualTo("export BUILDKIT_HOST='unix://" + socket + "'\n");

        Run status = jbang(List.of("buildkit-machine.java", "status", "smoke", "--json"), 120);
        assertThat(status.out()).contains("\"state\":\"Running\"", "\"answers\":true");

        Run stop = jbang(List.of("buildkit-machine.java", "stop", "smoke"), 120);
        assertThat(stop.code()).as(stop.err()).isZero();
        assertThat(socket).doesNotExist();
    }

    @Test
    void theCatalogAliasRunsTheTool() throws Exception {
        Run version = jbang(List.of("buildkit-machine@" + repo, "--version"), 300);

        assertThat(version.code()).as(version.err()).isZero();
        assertThat(version.out()).startsWith("buildkit-machine ");
    }

    @Test
    void installThroughTheCatalogWritesALauncherThatRunsWithoutJbang() throws Exception {
        Path bin = work.resolve("it's a $(bin)");
        Files.createDirectories(bin);

        Run install = jbang(List.of("buildkit-machine@" + repo, "install", "--dir", bin.toString()), 300);

        assertThat(install.code()).as(install.err()).isZero();
        Path launcher = bin.resolve("buildkit-machine");
        assertThat(install.out()).isEqualTo(launcher + "\n");
        assertThat(install.err()).contains("is not on your PATH");
        ProcessBuilder builder = new ProcessBuilder(launcher.toString(), "list", "--json")
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(work.resolve("out").toFile())
                .redirectError(work.resolve("err").toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        builder.environment().put("PATH", bin + ":" + env.get("PATH"));
        // The launcher starts from the archive that install made: with -Xshare:on, a JVM that cannot map it fails.
        Path loaded = work.resolve("classes.txt");
        builder.environment().put("JAVA_TOOL_OPTIONS", "-Xshare:on -Xlog:class+load:file=" + loaded);
        Process list = builder.start();
        assertThat(list.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(list.exitValue()).as(Files.readString(work.resolve("err"))).isZero();
        assertThat(Files.readString(work.resolve("out")).lines()).allMatch(l -> l.startsWith("{\"name\":"));
        String archive = Files.readString(launcher).lines().filter(l -> l.startsWith("archive='")).findFirst()
                .orElseThrow().replaceAll("^archive='|'$", "");
        assertThat(Path.of(archive)).isNotEmptyFile()
                .hasParent(Path.of(env.get("BUILDKIT_MACHINE_HOME"), ".class-data"));
        assertThat(Files.readString(loaded))
                .contains("picocli.CommandLine$Model$CommandSpec source: shared objects file",
                        "buildkitmachine.cli.ListCommand source: shared objects file");
    }

    @Test
    void badInputThroughJbangGivesOneLineAndTheUsageCode() throws Exception {
        Run bad = jbang(List.of("buildkit-machine.java", "start", "--tcp", "80"), 300);

        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err().lines().toList()).hasSize(1);
    }

    @Test
    void theLibraryExampleStartsAMachineAndReachesItsDaemon() throws Exception {
        Run example = jbang(List.of("scripts/start-and-build.java", "smoke-example"), 300);

        assertThat(example.code()).as(example.err()).isZero();
        assertThat(example.out()).contains("buildkitd answers on unix://", "platforms linux/");
    }

    @Test
    void foregroundStaysAttachedAndCtrlCClosesTheEndpointAndStopsTheMachine() throws Exception {
        Path socket = work.resolve("fg.sock");
        Process foreground = start(List.of("buildkit-machine.java", "start", "smoke-fg", "--foreground", "--unix",
                socket.toString()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.readString(work.resolve("out")).contains("BUILDKIT_HOST") && System.nanoTime() < deadline) {
            assertThat(foreground.isAlive()).as(Files.readString(work.resolve("err"))).isTrue();
            Thread.sleep(100);
        }
        assertThat(socket).exists();

        new ProcessBuilder("kill", "-INT", Long.toString(foreground.pid())).start().waitFor();

        assertThat(foreground.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(socket).doesNotExist();
        assertThat(Files.readString(work.resolve("err"))).contains("closing the endpoint and stopping smoke-fg");
        assertThat(lima.run("list", "--json", "smoke-fg").stdout()).contains("\"status\":\"Stopped\"");
    }
}
