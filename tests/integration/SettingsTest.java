package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.DaemonProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * The configuration reaching buildkitd: its buildkitd.toml in the guest (over the real sshd of the limactl double)
 * or in the machine's folder for the local driver, a restart only when the settings changed, and the log and
 * emulators of the guest.
 */
class SettingsTest {
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;

    @BeforeEach
    void startGuest() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmc");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
    }

    @AfterEach
    void stopGuest() {
        if (cli != null) {
            cli.deleteMachines(work.resolve("state"));
        }
        TestSshd.closeAll(lima, sshd);
        TestSshd.deleteTree(work);
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    long stops() {
        return lima.calls().stream().filter(c -> c.contains(" stop ")).count();
    }

    JsonNode guestToml() throws IOException {
        return new TomlMapper().readTree(Files.readString(sshd.configDir().resolve("buildkit/buildkitd.toml")));
    }

    @Test
    void theGuestGetsTheSettingsAndBuildkitdRestartsOnlyWhenTheyChange() throws IOException {
        Path socket = work.resolve("s.sock");
        ok("config", "set", "-m", "set1", "buildkitd.insecureRegistries", "[registry.lan:5000]");
        ok("config", "set", "buildkitd.mirrors", "{docker.io: [mirror.lan]}");

        Run first = ok("start", "set1", "--driver", "lima", "--unix", socket.toString(), "--timeout", "120s");

        JsonNode toml = guestToml();
        assertThat(toml.at("/registry/registry.lan:5000/http").asBoolean()).isTrue();
        assertThat(toml.at("/registry/docker.io/mirrors/0").asText()).isEqualTo("mirror.lan");
        assertThat(first.err()).contains("buildkitd's settings changed; restarting buildkitd");
        long stopsAfterFirst = stops();

        Run second = ok("start", "set1", "--timeout", "120s");

        assertThat(second.err()).doesNotContain("restarting buildkitd");
        assertThat(stops()).as("no restart without a change").isEqualTo(stopsAfterFirst);

        Run set = ok("config", "set", "-m", "set1", "buildkitd.debug", "true");

        assertThat(set.err()).contains("applying the settings to set1", "restarting buildkitd");
        assertThat(guestToml().path("debug").asBoolean()).isTrue();
        assertThat(stops()).as("the guest has no buildkitd service, so its VM restarts").isGreaterThan(stopsAfterFirst);
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(5))).hasSize(1);
    }

    @Test
    void aFileTheToolDidNotWriteIsLeftAloneWhileNothingIsSet() throws IOException {
        Path file = Files.createDirectories(sshd.configDir().resolve("buildkit")).resolve("buildkitd.toml");
        Files.writeString(file, "debug = true\n# the user's own\n");
        sshd.guestSubdir("config");

        ok("start", "own", "--driver", "lima", "--timeout", "120s");

        assertThat(file).hasContent("debug = true\n# the user's own\n");
    }

    @Test
    void vmSettingsSizeANewVmAndFlagsWinOverThem() {
        ok("config", "set", "vm.cpus", "3");
        ok("config", "set", "-m", "sized", "vm.rosetta", "true");
        ok("config", "set", "-m", "sized", "vm.memory", "6");

        ok("start", "sized", "--driver", "lima", "--memory", "5", "--timeout", "120s");

        assertThat(lima.calls()).anyMatch(c -> c.contains(" create ") && c.contains("--cpus=3")
                && c.contains("--memory=5") && c.contains("--rosetta"));
        ok("config", "set", "-m", "qemu", "vm.vmType", "qemu");
        ok("config", "set", "-m", "qemu", "vm.rosetta", "true");
        Run refused = cli.run("start", "qemu", "--driver", "lima");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err()).contains("vm.rosetta needs the vz VM type");
        assertThat(lima.calls()).noneMatch(c -> c.contains("--name=qemu"));
    }

    @Test
    void logsShowTheGuestsBuildkitdLog() {
        ok("start", "logs1", "--driver", "lima", "--timeout", "120s");

        Run logs = ok("logs", "logs1", "-n", "5");

        assertThat(logs.out()).contains("fake buildkitd");
        assertThat(logs.out().lines().count()).isBetween(1L, 5L);
        assertThat(logs.err()).as("quiet unless asked").isEmpty();
        Run verbose = ok("logs", "logs1", "-n", "1", "-v");
        assertThat(verbose.err()).contains("buildkit-machine: debug: run: ").contains("ssh");
        assertThat(cli.run("logs", "nothing-here").code()).isEqualTo(6);
    }

    @Test
    void emulationAskedForIsInstalledInTheGuestOrTheStartSaysWhyNot() {
        ok("config", "set", "-m", "emu", "emulation", "[arm64]");

        Run start = cli.run("start", "emu", "--driver", "lima", "--timeout", "120s");

        if (Files.exists(Path.of("/proc/sys/fs/binfmt_misc/qemu-aarch64"))) {
            assertThat(start.code()).as(start.toString()).isZero();
        } else {
            // The test guest's user has no passwordless sudo, unlike a Lima guest's.
            assertThat(start.code()).as(start.toString()).isEqualTo(4);
            assertThat(start.err()).contains("installing emulators needs passwordless sudo in the guest");
        }
    }

    @Test
    void theLocalDriverReadsItsSettingsFromTheMachinesFolderAndRestartsOnAChange() throws IOException {
        Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "");
        CliRunner local = cli.with(Map.of("PATH", bin + ":" + LifecycleTest.SYSTEM_PATH));
        Path socket = work.resolve("l.sock");
        assertThat(local.run("config", "set", "-m", "loc", "buildkitd.maxParallelism", "2").code()).isZero();

        assertThat(local.run("start", "loc", "--driver", "local", "--unix", socket.toString()).code()).isZero();

        Path toml = work.resolve("state/loc/buildkitd.toml");
        assertThat(new TomlMapper().readTree(toml.toFile()).at("/worker/oci/max-parallelism").asInt()).isEqualTo(2);
        long pid = status(local).at("/daemon/pid").asLong();
        assertThat(commandLines(pid)).as("buildkitd is told where its settings are")
                .anyMatch(line -> line.contains("--config=" + toml));

        assertThat(local.run("config", "set", "-m", "loc", "buildkitd.maxParallelism", "3").code()).isZero();

        assertThat(new TomlMapper().readTree(toml.toFile()).at("/worker/oci/max-parallelism").asInt()).isEqualTo(3);
        assertThat(status(local).at("/daemon/pid").asLong()).as("restarted").isNotEqualTo(pid);
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(5))).hasSize(1);
        assertFollowShowsNewLines(local, work.resolve("state/loc/daemon.log"));
        assertThat(local.run("delete", "--force", "loc").code()).isZero();
        assertThat(work.resolve("state/loc/config.yaml")).as("the user's file stays").exists();
    }

    /** {@code logs -f} shows a line written after it began, and ends its reader when interrupted. */
    private static void assertFollowShowsNewLines(CliRunner runner, Path log) throws IOException {
        java.util.concurrent.atomic.AtomicReference<Run> result = new java.util.concurrent.atomic.AtomicReference<>();
        java.io.StringWriter live = new java.io.StringWriter();
        Thread follower = new Thread(() -> result.set(runner.run(live, "logs", "loc", "-f", "-n", "1")));
        follower.start();
        String marker = "a line written while following " + System.nanoTime();
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (live.toString().isEmpty() && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertThat(live.toString()).as("the last line, before anything new").isNotEmpty().doesNotContain(marker);
        Files.writeString(log, marker + "\n", java.nio.file.StandardOpenOption.APPEND);
        while (!live.toString().contains(marker) && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertThat(live.toString()).contains(marker);
        follower.interrupt();
        try {
            follower.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertThat(follower.isAlive()).as("logs -f ends when interrupted").isFalse();
        assertThat(commandLines(ProcessHandle.current().pid())).noneMatch(l -> l.contains("tail") && l.contains(
                log.toString()));
    }

    /** The command lines of a process and its descendants, as /proc has them. */
    private static java.util.List<String> commandLines(long pid) {
        return ProcessHandle.of(pid).stream().flatMap(p -> java.util.stream.Stream.concat(java.util.stream.Stream.of(p),
                p.descendants())).map(p -> {
                    try {
                        return Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).replace('\0', ' ');
                    } catch (IOException gone) {
                        return "";
                    }
                }).toList();
    }

    private static JsonNode status(CliRunner runner) throws IOException {
        return LifecycleTest.JSON.readTree(runner.run("status", "loc", "--json").out());
    }
}
