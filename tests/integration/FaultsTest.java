package integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import buildkitmachine.buildkit.DaemonProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.NetnsHost;
import support.Processes;
import support.TestSshd;

/**
 * What happens when the world misbehaves: the user interrupts or kills {@code start} at any moment, two starts race,
 * the VM or buildkitd goes away behind the tool's back, the network to a build host drops, the state folder fills up
 * or turns read-only. Each test has a guest of its own, as in {@link LifecycleTest}; signals need the command line
 * as a real process, so those tests run it as one.
 */
class FaultsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    TestSshd sshd;
    LimaDouble lima;
    Path work;
    Map<String, String> env;
    CliRunner cli;
    NetnsHost remote;
    CliRunner sshCli;
    Path netSocket;
    Path tinyHome;
    boolean tinyMounted;
    boolean tinyReadOnlyLayer;

    @BeforeEach
    void startGuest() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmf");
        env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
    }

    @AfterEach
    void stopGuest() {
        if (tinyMounted) {
            cleanUpTinyHome();
        }
        if (cli != null) {
            (sshCli != null ? sshCli : cli).deleteMachines(work.resolve("state"));
        }
        TestSshd.closeAll(remote, lima, sshd);
        TestSshd.deleteTree(work);
    }

    Run ok(CliRunner runner, String... args) {
        Run run = runner.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    JsonNode status(CliRunner runner, String name) throws IOException {
        return JSON.readTree(ok(runner, "status", name, "--json").out());
    }

    Path folder(String name) {
        return work.resolve("state").resolve(name);
    }

    /** A guest whose buildkitd listens only 2.5 s after boot, so that a start spends a while in every phase. */
    Map<String, String> slowGuest() {
        Map<String, String> slow = new HashMap<>(env);
        // Slow enough that a signal at 5 s still falls inside start.
        slow.put("LIMACTL_DOUBLE_BOOT", GuestBoot.fakeBuildkitd(sshd, "--delay-ms 4000").toString());
        return slow;
    }

    static boolean answers(Path socket) {
        try {
            DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits until no keeper of the machine runs; one that is still exiting is given a few seconds. */
    static List<Processes.Proc> keepersAfterSettling(Path folder) throws InterruptedException {
        List<Processes.Proc> left = Processes.keepers(folder);
        for (int i = 0; i < 30 && !left.isEmpty(); i++) {
            Thread.sleep(100);
            left = Processes.keepers(folder);
        }
        return left;
    }

    static String lastLine(String text) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(nothing)" : lines.get(lines.size() - 1);
    }

    // ---------------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "SIG{1} after {0} ms")
    @CsvSource({"200, INT", "800, INT", "1500, INT", "3000, INT", "5000, INT", "3000, TERM"})
    void aSignalAtAnyMomentOfStartLeavesNothingHalfOpenAndTheNextStartWorks(long moment, String signal)
            throws Exception {
        Map<String, String> slow = slowGuest();
        Path socket = work.resolve("sig.sock");
        Processes.Cli start = Processes.Cli.launch(slow, work, work.resolve("run1"), "start", "sig", "--unix",
                socket.toString(), "--timeout", "60s");

        Thread.sleep(Math.max(0, moment - start.age()));
        boolean signalled = sendIfAlive(start, signal);
        int code = start.await(60);

        System.out.println("faults: SIG" + signal + " at " + moment + " ms: " + (signalled ? "sent" : "too late")
                + ", exit " + code + ", last words: " + lastLine(start.stderr()));
        assertThat(code).as("exit code\n" + start).isEqualTo(signalled ? 128 + signalNumber(signal) : 0);
        if (signalled) {
            assertThat(start.stderr()).as("the tool says nothing misleading").doesNotContain("buildkitd answers (");
        }
        // A start that finished before the signal keeps its one keeper; an interrupted one leaves none.
        assertThat(signalled ? keepersAfterSettling(folder("sig")) : Processes.keepers(folder("sig")))
                .as("keepers left\n" + start).hasSize(signalled ? 0 : 1);
        assertThat(Processes.sshForwarding(socket.toString())).as("ssh forwards left").isEmpty();
        assertThat(!Files.exists(socket) || answers(socket)).as(socket + " is absent or answers").isTrue();

        Run again = ok(cli.with(slow), "start", "sig", "--unix", socket.toString(), "--timeout", "60s");

        assertThat(again.out()).contains("unix://" + socket);
        assertThat(answers(socket)).as(socket + " answers after the next start").isTrue();
        assertThat(Processes.keepers(folder("sig"))).hasSize(1);
    }

    @ParameterizedTest(name = "SIG{0} while waiting for answers")
    @ValueSource(strings = {"INT", "TERM"})
    void aSignalWhileTheKeeperIsUpButBuildkitdDoesNotAnswerYetEndsTheKeeper(String signal) throws Exception {
        Map<String, String> guest = new HashMap<>(env);
        guest.put("LIMACTL_DOUBLE_BOOT", muteThenAnswering().toString());
        Path socket = work.resolve("mute.sock");
        Processes.Cli start = Processes.Cli.launch(guest, work, work.resolve("run1"), "start", "mute", "--unix",
                socket.toString(), "--timeout", "60s");
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!start.stderr().contains("waiting for buildkitd to answer") && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertThat(start.stderr()).as("start reached the last phase\n" + start)
                .contains("waiting for buildkitd to answer");
        Thread.sleep(500);
        List<Processes.Proc> keepersThen = Processes.keepers(folder("mute"));

        boolean signalled = sendIfAlive(start, signal);
        int code = start.await(60);

        System.out.println("faults: SIG" + signal + " while waiting for answers (keepers then: " + keepersThen.size()
                + "): exit " + code + ", last words: " + lastLine(start.stderr()));
        assertThat(signalled).as("start was still waiting\n" + start).isTrue();
        assertThat(code).as("exit code\n" + start).isEqualTo(128 + signalNumber(signal));
        assertThat(keepersAfterSettling(folder("mute"))).as("keepers left\n" + start).isEmpty();
        assertThat(Processes.sshForwarding(socket.toString())).as("ssh forwards left").isEmpty();
        assertThat(!Files.exists(socket) || answers(socket)).as(socket + " is absent or answers").isTrue();

        ok(cli.with(guest), "start", "mute", "--unix", socket.toString(), "--timeout", "60s");

        assertThat(answers(socket)).as(socket + " answers after the next start").isTrue();
        assertThat(Processes.keepers(folder("mute"))).hasSize(1);
    }

    /**
     * A guest whose buildkitd has its socket early but refuses ListWorkers for 8 s, then is replaced by one that
     * answers: a start spends those seconds with its keeper up, waiting for an answer.
     */
    Path muteThenAnswering() {
        Path fake = GuestBoot.fakeBuildkitd(sshd, "").resolveSibling("FakeBuildkitd.java");
        return sshd.guestFile("boot-mute-then-answering.sh", String.join("\n",
                "#!/bin/sh",
                "logdir=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine\"",
                "mkdir -p \"$logdir\" \"$XDG_RUNTIME_DIR/buildkit-default\"",
                "sock=\"$XDG_RUNTIME_DIR/buildkit-default/buildkitd.sock\"",
                "java " + fake + " --addr \"unix://$sock\" --fail-list-workers >>\"$logdir/buildkitd.log\" 2>&1 &",
                "mute=$!",
                "sleep 8",
                "kill $mute; wait $mute",
                "exec java " + fake + " --addr \"unix://$sock\" >>\"$logdir/buildkitd.log\" 2>&1",
                ""), true);
    }

    /** Signals the CLI only while it runs: once it exited its PID may belong to someone else. */
    static boolean sendIfAlive(Processes.Cli cli, String signal) {
        if (ProcessHandle.of(cli.pid()).map(ProcessHandle::isAlive).orElse(false)) {
            Processes.signal(cli.pid(), signal);
            return true;
        }
        return false;
    }

    static int signalNumber(String name) {
        return switch (name) {
            case "INT" -> 2;
            case "KILL" -> 9;
            case "TERM" -> 15;
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest(name = "after {0} ms")
    @ValueSource(longs = {1500, 4000})
    void aStartKilledWithSigkillMidwayIsRepairedByTheNextStart(long moment) throws Exception {
        Map<String, String> slow = slowGuest();
        Path socket = work.resolve("k9.sock");
        Processes.Cli start = Processes.Cli.launch(slow, work, work.resolve("run1"), "start", "k9", "--unix",
                socket.toString(), "--timeout", "60s");

        Thread.sleep(Math.max(0, moment - start.age()));
        boolean killed = sendIfAlive(start, "KILL");
        int code = start.await(60);
        System.out.println("faults: SIGKILL at " + moment + " ms: exit " + code + ", keepers then: "
                + Processes.keepers(folder("k9")).size() + ", last words: " + lastLine(start.stderr()));
        assertThat(killed).as("start was still running at " + moment + " ms\n" + start).isTrue();

        Run again = ok(cli.with(slow), "start", "k9", "--unix", socket.toString(), "--timeout", "60s");

        assertThat(answers(socket)).as(socket + " answers\n" + again).isTrue();
        assertThat(Processes.keepers(folder("k9"))).as("keepers of k9").hasSize(1);
        assertThat(Processes.sshForwarding(socket.toString())).as("ssh forwards to " + socket).hasSize(1);
    }

    @Test
    void twoStartsAtOnceBothSucceedOneWaitsAndOneKeeperRemains() throws Exception {
        Path socket = work.resolve("twin.sock");
        String[] args = {"start", "twin", "--unix", socket.toString(), "--timeout", "90s"};
        Processes.Cli first = Processes.Cli.launch(env, work, work.resolve("run1"), args);
        Processes.Cli second = Processes.Cli.launch(env, work, work.resolve("run2"), args);

        int firstCode = first.await(120);
        int secondCode = second.await(120);

        assertThat(firstCode).as("first\n" + first).isZero();
        assertThat(secondCode).as("second\n" + second).isZero();
        assertThat(first.stderr() + second.stderr()).contains("is changing twin; waiting for it");
        assertThat(Processes.keepers(folder("twin"))).as("keepers of twin").hasSize(1);
        assertThat(Processes.sshForwarding(socket.toString())).as("ssh forwards to " + socket).hasSize(1);
        assertThat(answers(socket)).isTrue();
        // The one that waited read the record before it got the lock; writing that stale copy back would make the
        // tool forget that it created the Lima instance, and 'delete' would then keep the VM.
        JsonNode record = JSON.readTree(folder("twin").resolve("machine.json").toFile());
        assertThat(record.path("createdInstance").asBoolean())
                .as("machine.json after both:\n" + record + "\nfirst " + first + "\nsecond " + second).isTrue();
        ok(cli, "delete", "twin", "--force");
        assertThat(lima.run("list", "--json").stdout()).as("the Lima instance is deleted").doesNotContain("twin");
    }

    @Test
    void aVmStoppedBehindTheToolsBackShowsStoppedAndTheNextStartBringsItBack() throws Exception {
        Path socket = work.resolve("vm.sock");
        ok(cli, "start", "vm", "--unix", socket.toString());

        assertThat(lima.run("stop", "vm").exitCode()).isZero();

        JsonNode status = status(cli, "vm");
        assertThat(status.get("state").asText()).isEqualTo("Stopped");
        assertThat(status.at("/endpoints/0/answers").asBoolean()).as(status.toString()).isFalse();
        assertThat(answers(socket)).isFalse();

        ok(cli, "start", "vm", "--timeout", "60s");

        assertThat(answers(socket)).as(socket + " answers again").isTrue();
        assertThat(status(cli, "vm").get("state").asText()).isEqualTo("Running");
        assertThat(Processes.keepers(folder("vm"))).hasSize(1);
    }

    @Test
    void aBuildkitdKilledBehindTheToolsBackShowsInStatusAndTheNextStartBringsItBack() throws Exception {
        Path socket = work.resolve("dead.sock");
        ok(cli, "start", "dead", "--unix", socket.toString());
        String runtime = sshd.runtimeDir().toString();
        List<Processes.Proc> fakes = Processes.matching(p -> p.mentions("FakeBuildkitd") && p.mentions(runtime));
        assertThat(fakes).as("the guest's buildkitd").hasSize(1);

        // The double started it for this test's guest, so it is ours to kill; SIGKILL, as a crash would.
        ProcessHandle fake = ProcessHandle.of(fakes.get(0).pid()).orElseThrow();
        fake.destroyForcibly();
        fake.onExit().get();

        JsonNode status = status(cli, "dead");
        System.out.println("faults: status with buildkitd killed: " + status);
        assertThat(status.get("state").asText()).isEqualTo("Running");
        assertThat(status.at("/endpoints/0/answers").asBoolean()).isFalse();
        assertThat(status.at("/endpoints/0/error").asText()).as("the reason").isNotBlank();

        long began = System.nanoTime();
        Run again = cli.run("start", "dead", "--timeout", "60s");
        long took = Duration.ofNanos(System.nanoTime() - began).toMillis();
        System.out.println("faults: start after buildkitd was killed: exit " + again.code() + " in " + took + " ms;"
                + " last words: " + lastLine(again.err()));

        assertThat(again.code()).as("start brings buildkitd back\n" + again).isZero();
        assertThat(answers(socket)).isTrue();
    }

    @Test
    void aNetworkDropToTheBuildHostIsReportedAndHealedWithinFiveSecondsOfTheLinkComingBack() throws Exception {
        startOnBuildHost();
        String link = remote.hostInterface();
        // Without the link, the connected route goes and the default route would carry ssh's SYNs off this machine
        // (in some sandboxes to a proxy that accepts any connection); a route of last resort keeps them here and
        // makes the host unreachable at once, as it is when a laptop's network goes away.
        String subnet = remote.peerAddress().replaceAll("\\.1$", ".0/30");
        assertThat(Processes.run("ip", "route", "add", "unreachable", subnet, "metric", "4000").code()).isZero();
        try {
            dropAndHeal("the link down", () -> ip("link", "set", link, "down"), () -> ip("link", "set", link, "up"));
        } finally {
            Processes.run("ip", "route", "del", "unreachable", subnet, "metric", "4000");
        }
    }

    @Test
    void aBuildHostThatFallsSilentIsHealedWithinFiveSecondsOfAnsweringAgain() throws Exception {
        startOnBuildHost();
        // The far end of the link goes down while this side keeps its route and (a permanent entry) the far end's
        // link address: packets vanish without any error, as behind a Wi-Fi that went away or a sleeping router.
        // Nothing tells ssh; it notices only through its own timeouts, in connect too.
        String mac = Processes.run("ip", "-n", remote.namespace(), "-br", "link", "show", "eth0").out()
                .trim().split("\\s+")[2];
        ip("neigh", "replace", remote.address(), "lladdr", mac, "dev", remote.hostInterface(), "nud", "permanent");
        try {
            dropAndHeal("the build host silent", () -> ip("-n", remote.namespace(), "link", "set", "eth0", "down"),
                    () -> ip("-n", remote.namespace(), "link", "set", "eth0", "up"));
        } finally {
            Processes.run("ip", "neigh", "del", remote.address(), "dev", remote.hostInterface());
        }
    }

    /** The ssh driver on a build host in a namespace of its own, offering its buildkitd on a unix socket. */
    void startOnBuildHost() throws Exception {
        remote = NetnsHost.start();
        Path knownHosts = Files.writeString(work.resolve("known_hosts"), remote.knownHostsLine() + "\n");
        sshCli = new CliRunner(Map.of("PATH", LifecycleTest.SYSTEM_PATH, "HOME", work.toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
        hostDaemon();
        netSocket = work.resolve("net.sock");
        ok(sshCli, "start", "net", "--host", remote.destination() + ":" + remote.port(), "--identity",
                remote.clientKey().toString(), "--known-hosts", knownHosts.toString(), "--unix",
                netSocket.toString(), "--timeout", "60s");
        assertThat(answers(netSocket)).isTrue();
    }

    void dropAndHeal(String what, Runnable down, Runnable up) throws Exception {
        try {
            down.run();
            Thread.sleep(6000);
            long asked = System.nanoTime();
            JsonNode status = status(sshCli, "net");
            long took = Duration.ofNanos(System.nanoTime() - asked).toMillis();
            JsonNode forward = status.get("forward");
            System.out.println("faults: with " + what + " for 6 s, status took " + took + " ms: state "
                    + status.path("state").asText() + ", forward " + forward);
            assertThat(forward.path("restarts").asInt() > 0 || !forward.path("lastError").asText().isEmpty())
                    .as("status says the forward broke: " + forward).isTrue();
            assertThat(status.at("/endpoints/0/answers").asBoolean()).isFalse();
        } finally {
            up.run();
        }
        long healed = System.nanoTime();
        long end = healed + Duration.ofSeconds(60).toNanos();
        while (!answers(netSocket) && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        Duration back = Duration.ofNanos(System.nanoTime() - healed);
        System.out.println("faults: with " + what + ", the socket answered " + back.toMillis()
                + " ms after the network came back; keeper says " + Files.readString(folder("net")
                .resolve("forward.json")).replaceAll("\\s+", " "));

        assertThat(back).as("time to answer again after the network is back").isLessThan(Duration.ofSeconds(5));
        assertThat(Processes.keepers(folder("net"))).hasSize(1);
        assertThat(Processes.sshForwarding(netSocket.toString())).hasSize(1);
    }

    static void ip(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        run(command.toArray(String[]::new));
    }

    /** The build host's own buildkitd (the fake), as its owner would have it running; see SshDriverTest. */
    void hostDaemon() throws Exception {
        Path fake = remote.guestFile("FakeBuildkitd.java", Files.readString(FakeDaemons.source()), false);
        Path socket = remote.runtimeDir().resolve("buildkit-default/buildkitd.sock");
        Process daemon = remote.exec("java", fake.toString(), "--addr", "unix://" + socket);
        daemon.getInputStream().close();
        for (int i = 0; i < 300 && !Files.exists(socket); i++) {
            Thread.sleep(50);
        }
        assertThat(socket).as("the host's buildkitd socket").exists();
    }

    @Test
    void aFullOrReadOnlyStateFolderGivesOneClearErrorAndCorruptsNothing() throws Exception {
        mountTinyHome();
        CliRunner tiny = cli.with(Map.of("BUILDKIT_MACHINE_HOME", tinyHome.toString()));
        Path socket = work.resolve("full.sock");
        ok(tiny, "start", "full", "--unix", socket.toString());
        Path record = tinyHome.resolve("full/machine.json");
        String before = Files.readString(record);

        long filled = fill(tinyHome.resolve("filler"));
        System.out.println("faults: filled the state tmpfs with " + filled + " bytes");
        refusedWithoutDamage(tiny, record, before, socket, "full disk");

        makeReadOnly(tinyHome);
        refusedWithoutDamage(tiny, record, before, socket, "read-only folder");
    }

    void refusedWithoutDamage(CliRunner tiny, Path record, String before, Path socket, String what)
            throws IOException {
        int port = LifecycleTest.freePort();

        Run change = tiny.run("start", "full", "--tcp", Integer.toString(port));

        System.out.println("faults: start --tcp on a " + what + ": exit " + change.code() + ", "
                + lastLine(change.err()));
        assertThat(change.code()).as(what + "\n" + change).isNotZero();
        List<String> errors = change.err().lines().filter(l -> l.contains("error:")).toList();
        assertThat(errors).as(what + ": error lines\n" + change).hasSize(1);
        assertThat(errors.get(0).toLowerCase()).as(what).containsAnyOf("disk", "writable", "read-only", "space");
        assertThat(JSON.readTree(record.toFile()).at("/endpoints/0").toString()).as(what)
                .contains(socket.toString());
        assertThat(Files.readString(record)).as(what + ": machine.json unchanged").isEqualTo(before);
        assertThat(answers(socket)).as(what + ": the working endpoint still answers").isTrue();
    }

    /** A 64 KiB tmpfs as the state folder; needs root (mount), so the test is skipped elsewhere. */
    void mountTinyHome() throws IOException {
        Assumptions.assumeTrue(LocalDriverTest.root(), "mounting a tmpfs needs root");
        tinyHome = Files.createDirectory(work.resolve("tiny"));
        Processes.Result mount = Processes.run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs",
                tinyHome.toString());
        Assumptions.assumeTrue(mount.code() == 0, "cannot mount a tmpfs here: " + mount.out());
        tinyMounted = true;
    }

    /**
     * Read-only from now on. A plain 'remount,ro' is refused while the keeper has its log open for writing there, so
     * a read-only bind mount goes on top: every path the tool opens from now on is read-only, as on a disk that
     * the kernel remounted read-only after an error.
     */
    void makeReadOnly(Path folder) {
        run("mount", "--bind", folder.toString(), folder.toString());
        tinyReadOnlyLayer = true;
        run("mount", "-o", "remount,bind,ro", folder.toString());
    }

    /** Runs a command of the test's own (ip, mount) that must succeed. */
    static void run(String... command) {
        Processes.Result result = Processes.run(command);
        assertThat(result.code()).as(String.join(" ", command) + ": " + result.out()).isZero();
    }

    /** Writes until the file system says it is full; returns how much fitted. */
    static long fill(Path file) throws IOException {
        byte[] block = new byte[4096];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(file)) {
            while (written < 64L << 20) {
                out.write(block);
                out.flush();
                written += block.length;
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
            return written;
        }
        fail("wrote 64 MiB into a 64 KiB tmpfs without running out of space");
        return written;
    }

    /** Writable again, the machine deleted (its keeper holds forward.log open there), then unmounted. */
    void cleanUpTinyHome() {
        if (tinyReadOnlyLayer) {
            Processes.run("umount", tinyHome.toString());
            tinyReadOnlyLayer = false;
        }
        try {
            Files.deleteIfExists(tinyHome.resolve("filler"));
        } catch (IOException ignored) {
            // The unmount below discards it anyway.
        }
        cli.with(Map.of("BUILDKIT_MACHINE_HOME", tinyHome.toString())).deleteMachines(tinyHome);
        Processes.Result umount = Processes.run("umount", tinyHome.toString());
        if (umount.code() != 0) {
            Processes.run("umount", "-l", tinyHome.toString());
        }
        tinyMounted = false;
    }
}
