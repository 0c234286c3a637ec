package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.DaemonProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.Processes;
import support.TestSshd;

/**
 * Many repetitions of what one test does once: a leak of a descriptor, a process or a socket file per cycle is
 * invisible in a single run and obvious after a hundred. Figures are printed with the prefix "soak:".
 */
class SoakTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int FORWARD_CYCLES = 100;
    static final int START_STOP_CYCLES = 50;
    /** What the start/stop soak may take at most, so that the class stays within a few minutes on 2 cores. */
    static final Duration START_STOP_BUDGET = Duration.ofSeconds(110);

    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;

    @AfterEach
    void cleanUp() {
        if (cli != null) {
            cli.deleteMachines(work.resolve("state"));
        }
        if (lima != null) {
            lima.close();
        }
        if (sshd != null) {
            sshd.close();
        }
        TestSshd.deleteTree(work);
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    JsonNode status(String name) throws IOException {
        return JSON.readTree(ok("status", name, "--json").out());
    }

    @Test
    void aHundredKilledForwardsEachHealWithinFiveSecondsWithoutLeaking() throws Exception {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmk");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
        Path socket = work.resolve("soak.sock");
        Path folder = work.resolve("state/soak");
        ok("start", "soak", "--unix", socket.toString());
        long keeper = status("soak").at("/forward/pid").asLong();
        DaemonProbe probe = DaemonProbe.unix(socket);
        List<Long> recoveries = new ArrayList<>();
        int fdsAt10 = -1;

        for (int cycle = 1; cycle <= FORWARD_CYCLES; cycle++) {
            ProcessHandle ssh = onlySshChild(keeper);
            ssh.destroyForcibly();
            long killed = System.nanoTime();
            ssh.onExit().get();
            long limit = killed + Duration.ofSeconds(5).toNanos();
            boolean back = false;
            while (!back && System.nanoTime() < limit) {
                back = answersQuickly(probe);
            }
            long took = Duration.ofNanos(System.nanoTime() - killed).toMillis();
            assertThat(back).as("cycle " + cycle + ": the socket answers within 5 s of the kill").isTrue();
            recoveries.add(took);
            if (cycle == 10) {
                fdsAt10 = Processes.openFds(keeper);
            }
        }

        int fdsAt100 = Processes.openFds(keeper);
        List<Long> sorted = recoveries.stream().sorted().toList();
        JsonNode forward = status("soak").get("forward");
        System.out.println("soak: forward recovery over " + FORWARD_CYCLES + " kills: min " + sorted.get(0)
                + " ms, median " + sorted.get(sorted.size() / 2) + " ms, max " + sorted.get(sorted.size() - 1)
                + " ms; keeper fds at cycle 10: " + fdsAt10 + ", at cycle 100: " + fdsAt100 + "; restarts "
                + forward.path("restarts").asInt());
        assertThat(fdsAt100 - fdsAt10).as("keeper's descriptors grew from cycle 10 to 100:\n"
                + String.join("\n", Processes.fdTargets(keeper))).isLessThanOrEqualTo(3);
        assertThat(ProcessHandle.of(keeper).orElseThrow().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("/ssh")).orElse(false)).count())
                .as("ssh children of the keeper").isEqualTo(1);
        assertThat(Processes.sshForwarding(socket.toString())).as("ssh processes forwarding the socket").hasSize(1);
        assertThat(forward.path("restarts").asInt()).isGreaterThanOrEqualTo(FORWARD_CYCLES);
        assertThat(Processes.socketFiles(folder)).as("socket files in the machine folder").isEmpty();
        ok("stop", "soak");
        assertThat(Processes.keepers(folder)).isEmpty();
    }

    /** The one ssh the keeper runs; waits briefly, since between two runs there is none. */
    static ProcessHandle onlySshChild(long keeper) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            List<ProcessHandle> ssh = ProcessHandle.of(keeper).orElseThrow().children()
                    .filter(p -> p.info().command().map(c -> c.endsWith("/ssh")).orElse(false)).toList();
            assertThat(ssh.size()).as("ssh children of the keeper").isLessThanOrEqualTo(1);
            if (!ssh.isEmpty()) {
                return ssh.get(0);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the keeper runs no ssh");
    }

    static boolean answersQuickly(DaemonProbe probe) throws InterruptedException {
        try {
            probe.listWorkers(Duration.ofMillis(500));
            return true;
        } catch (IOException e) {
            Thread.sleep(20);
            return false;
        }
    }

    @Test
    void fiftyStartsAndStopsLeaveNoProcessSocketOrDescriptorBehind() throws Exception {
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmk");
        Path bin = fastFakeBuildkitd(work);
        cli = new CliRunner(Map.of("PATH", bin + ":" + LifecycleTest.SYSTEM_PATH, "HOME", work.toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
        Path socket = work.resolve("cycle.sock");
        Path folder = work.resolve("state/cycle");
        long self = ProcessHandle.current().pid();
        List<Long> cycles = new ArrayList<>();
        Set<Long> daemons = new java.util.HashSet<>();
        int fdsAfterWarmUp = -1;
        int planned = START_STOP_CYCLES;
        long began = System.nanoTime();

        for (int cycle = 1; cycle <= planned; cycle++) {
            long start = System.nanoTime();
            ok("start", "cycle", "--driver", "local", "--unix", socket.toString(), "--timeout", "60s");
            assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
            long daemon = status("cycle").at("/daemon/pid").asLong();
            assertThat(daemons.add(daemon)).as("cycle " + cycle + " runs a buildkitd of its own").isTrue();
            ok("stop", "cycle");
            cycles.add(Duration.ofNanos(System.nanoTime() - start).toMillis());
            if (cycle == 5) {
                fdsAfterWarmUp = Processes.openFds(self);
                // Fewer cycles only when they would not fit the budget; said below.
                long average = Duration.ofNanos(System.nanoTime() - began).toMillis() / 5;
                planned = (int) Math.max(10, Math.min(START_STOP_CYCLES, START_STOP_BUDGET.toMillis() / average));
            }
        }

        int fdsAtEnd = Processes.openFds(self);
        List<Long> sorted = cycles.stream().sorted().toList();
        System.out.println("soak: " + planned + " of " + START_STOP_CYCLES + " start/stop cycles (local driver)"
                + (planned < START_STOP_CYCLES ? ", fewer to fit " + START_STOP_BUDGET.toSeconds() + " s" : "")
                + ": min " + sorted.get(0) + " ms, median " + sorted.get(sorted.size() / 2) + " ms, max "
                + sorted.get(sorted.size() - 1) + " ms; test JVM fds after cycle 5: " + fdsAfterWarmUp
                + ", at the end: " + fdsAtEnd);
        String where = folder.toString();
        assertThat(Processes.matching(p -> p.mentions(where))).as("processes of the machine left").isEmpty();
        assertThat(Processes.keepers(folder)).isEmpty();
        assertThat(socket).doesNotExist();
        assertThat(Processes.socketFiles(work)).as("socket files left").isEmpty();
        assertThat(fdsAtEnd - fdsAfterWarmUp).as("descriptors of the test JVM (CliRunner runs in-process):\n"
                + String.join("\n", Processes.fdTargets(self))).isLessThanOrEqualTo(3);
        try (Stream<Path> files = Files.list(folder)) {
            assertThat(files.map(f -> f.getFileName().toString()).toList()).as("files in the machine folder")
                    .allMatch(Set.of("machine.json", "lock", "daemon.log", "run", "buildkit", "buildkitd.toml")
                            ::contains);
        }
    }

    /**
     * The fake buildkitd compiled once, so each start pays for a JVM but not for compiling the fake's source, which
     * on 2 cores would make the soak several times slower without testing anything more.
     */
    static Path fastFakeBuildkitd(Path work) throws IOException {
        Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "");
        var compiler = ToolProvider.getSystemJavaCompiler();
        Assumptions.assumeTrue(compiler != null, "no Java compiler in this JDK to compile the fake buildkitd");
        Path classes = Files.createDirectories(work.resolve("fake-classes"));
        int compiled = compiler.run(null, null, null, "-nowarn", "-d", classes.toString(),
                FakeDaemons.source().toString());
        assertThat(compiled).as("javac FakeBuildkitd.java").isZero();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path buildkitd = bin.resolve("buildkitd");
        Files.writeString(buildkitd, "#!/bin/sh\nexec " + java + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
                + " -Xshare:auto -cp " + classes + " FakeBuildkitd \"$@\"\n");
        Files.setPosixFilePermissions(buildkitd, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }
}
