package integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.buildkit.Worker;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * The machine's whole life through the command line, against the limactl double whose guest is a real sshd running
 * a fake buildkitd: the forward is a real {@code ssh -L}, and readiness is a real gRPC call through it. Each test has
 * a guest of its own, as each Lima VM would.
 */
class LifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Without /usr/local: a BuildKit installed there would make the local driver the default. */
    static final String SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;

    @BeforeEach
    void startGuest() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmw");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + SYSTEM_PATH);
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

    JsonNode status(String name) throws IOException {
        return JSON.readTree(ok("status", name, "--json").out());
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Test
    void aUnixSocketAnswersWhenStartReturnsAndIsGoneAfterStop() throws IOException {
        Path socket = work.resolve("bk.sock");

        Run start = ok("start", "bk-unix", "--unix", socket.toString(), "--timeout", "120s");

        assertThat(start.out()).isEqualTo("export BUILDKIT_HOST='unix://" + socket + "'\n");
        List<Worker> workers = DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2));
        assertThat(workers).extracting(Worker::id).containsExactly("fake");
        assertThat(lima.calls()).anyMatch(c -> c.contains(" create ") && c.contains("--tty=false"));
        assertThat(lima.calls()).anyMatch(c -> c.contains(" start ") && c.contains("--tty=false"));
        assertThat(start.err()).contains("created the Lima instance", "buildkitd answers");

        JsonNode status = status("bk-unix");
        assertThat(status.get("state").asText()).isEqualTo("Running");
        assertThat(status.at("/endpoints/0/answers").asBoolean()).isTrue();
        assertThat(status.at("/endpoints/0/platforms/0").asText()).startsWith("linux/");
        assertThat(status.get("guestSocket").asText()).endsWith("/buildkit-default/buildkitd.sock");
        long keeper = status.at("/forward/pid").asLong();
        assertThat(ProcessHandle.of(keeper)).hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());

        assertThat(ok("env", "bk-unix").out()).isEqualTo(start.out());
        assertThat(JSON.readTree(ok("env", "bk-unix", "--json").out()).get("BUILDKIT_HOST").asText())
                .isEqualTo("unix://" + socket);
        assertThat(ok("list", "--json").out()).contains("\"name\":\"bk-unix\"", "\"state\":\"Running\"");

        ok("stop", "bk-unix");

        assertThat(socket).doesNotExist();
        assertThat(ProcessHandle.of(keeper).filter(ProcessHandle::isAlive)).isEmpty();
        assertThat(status("bk-unix").get("state").asText()).isEqualTo("Stopped");
        assertThat(status("bk-unix").at("/endpoints/0/answers").asBoolean()).isFalse();
        assertThat(cli.run("env", "bk-unix").code()).isEqualTo(6);

        Run again = ok("start", "bk-unix", "--timeout", "120s");

        assertThat(again.out()).as("the remembered endpoint").isEqualTo(start.out());
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(lima.calls().stream().filter(c -> c.contains(" create ")).count()).isEqualTo(1);

        ok("delete", "bk-unix", "--force");

        assertThat(socket).doesNotExist();
        assertThat(lima.run("list", "--json").stdout()).doesNotContain("bk-unix");
        assertThat(work.resolve("state/bk-unix")).doesNotExist();
    }

    @Test
    void theFirstKeeperMakesTheKeepersClassArchiveAndLaterKeepersStartFromIt() throws Exception {
        Path socket = work.resolve("cds.sock");
        ok("start", "cds", "--unix", socket.toString(), "--timeout", "120s", "-q");
        Path early = recordedClassList("cds");
        ok("stop", "cds", "-q");
        assertThat(early).as("the list of a keeper stopped before it archived").doesNotExist();
        assertThat(work.resolve("state/.class-data")).doesNotExist();

        ok("start", "cds", "--timeout", "120s", "-q");
        Path list = recordedClassList("cds");
        assertThat(list).as("the first keeper records the classes it loads").isNotEmptyFile()
                .hasParent(Path.of(System.getProperty("java.io.tmpdir")));
        assertThat(work.resolve("state/cds")).isDirectoryNotContaining(f -> f.toString().endsWith(".classlist"));

        Path archive = awaitKeeperArchive(work.resolve("state/.class-data"), Duration.ofSeconds(90));
        for (int i = 0; i < 50 && Files.exists(list); i++) {
            Thread.sleep(100);
        }
        assertThat(list).as("the class list, once archived").doesNotExist();
        assertThat(Files.getPosixFilePermissions(archive.getParent()))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        ok("stop", "cds", "-q");
        ok("start", "cds", "--timeout", "120s", "-q");

        long keeper = status("cds").at("/forward/pid").asLong();
        assertThat(ProcessHandle.of(keeper).orElseThrow().info().arguments().orElseThrow())
                .contains("-XX:SharedArchiveFile=" + archive)
                .noneMatch(a -> a.startsWith("-XX:DumpLoadedClassList="));
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(list).doesNotExist();
        assertThat(Files.readString(work.resolve("state/cds/forward.log"))).doesNotContain("warning", "cds]");
    }

    /** The class list that the machine's keeper records, as its JVM options name it. */
    Path recordedClassList(String name) throws IOException {
        return ProcessHandle.of(status(name).at("/forward/pid").asLong()).orElseThrow().info().arguments()
                .map(List::of).orElseThrow().stream().filter(a -> a.startsWith("-XX:DumpLoadedClassList="))
                .findFirst().map(a -> Path.of(a.substring(a.indexOf('=') + 1))).orElseThrow();
    }

    /** The keepers' class data archive, once the first keeper has made it (about 20 s after it started). */
    static Path awaitKeeperArchive(Path folder, Duration limit) throws Exception {
        long end = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < end) {
            if (Files.isDirectory(folder)) {
                try (var files = Files.list(folder)) {
                    Optional<Path> archive = files.filter(f -> f.getFileName().toString().matches("keeper-.*\\.jsa"))
                            .findFirst();
                    if (archive.isPresent()) {
                        return archive.get();
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no keeper archive in " + folder + " after " + limit.toSeconds() + " s");
    }

    @Test
    void theOriginalInvocationsStillWork() throws IOException {
        Path socket = work.resolve("buildkitd.sock");
        int port = freePort();

        Run unix = ok("start", "buildkitd", "--unix", socket.toString());
        assertThat(unix.out()).contains("unix://" + socket);

        Run tcp = ok("start", "buildkitd", "--tcp", Integer.toString(port));

        assertThat(tcp.out()).isEqualTo("export BUILDKIT_HOST='tcp://127.0.0.1:" + port + "'\n");
        assertThat(DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(socket).as("the endpoint it replaced is closed").doesNotExist();
        long starts = lima.calls().stream().filter(c -> c.contains(" start ") && c.contains("buildkitd")).count();
        assertThat(starts).as("a running machine is reused, not started again").isEqualTo(1);

        ok("start", "buildkitd", "--tcp", Integer.toString(port));
        ok("stop", "buildkitd");

        assertThatThrownBy(() -> DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofMillis(500)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void aKilledForwardIsBackWithinFiveSecondsAndStatusSaysWhy() throws Exception {
        Path socket = work.resolve("heal.sock");
        ok("start", "bk-heal", "--unix", socket.toString());
        ProcessHandle ssh = forwardSsh("bk-heal");

        long killed = System.nanoTime();
        ssh.destroyForcibly();
        awaitAnswer(DaemonProbe.unix(socket), Duration.ofSeconds(5));
        Duration back = Duration.ofNanos(System.nanoTime() - killed);

        assertThat(back).isLessThan(Duration.ofSeconds(5));
        JsonNode forward = status("bk-heal").get("forward");
        assertThat(forward.get("restarts").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(forward.get("lastError").asText()).startsWith("ssh exited with");
        assertThat(forwardSsh("bk-heal").pid()).isNotEqualTo(ssh.pid());
        ok("stop", "bk-heal");
    }

    @Test
    void aKeeperKilledWithSigkillIsCleanedUpByTheNextStart() throws Exception {
        Path socket = work.resolve("kill9.sock");
        ok("start", "bk-kill9", "--unix", socket.toString());
        ProcessHandle keeper = ProcessHandle.of(status("bk-kill9").at("/forward/pid").asLong()).orElseThrow();
        ProcessHandle orphan = forwardSsh("bk-kill9");

        keeper.destroyForcibly();
        keeper.onExit().get();

        assertThat(status("bk-kill9").at("/forward/running").asBoolean()).as("keeper running").isFalse();
        Run start = ok("start", "bk-kill9");
        assertThat(start.err()).contains("left by a keeper that is gone");
        assertThat(orphan.isAlive()).as("the orphaned ssh is alive").isFalse();
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        ok("stop", "bk-kill9");
        assertThat(socket).doesNotExist();
    }

    @Test
    void aDaemonThatNeverStartsTimesOutNamingThePhaseWithItsLog() {
        Path boot = GuestBoot.brokenDaemon(sshd);
        Path socket = work.resolve("broken.sock");

        Run start = cli.with(Map.of("LIMACTL_DOUBLE_BOOT", boot.toString()))
                .run("start", "bk-broken", "--unix", socket.toString(), "--timeout", "6s");

        assertThat(start.code()).as(start.toString()).isEqualTo(5);
        assertThat(start.err()).contains("timed out after 6s while finding buildkitd's socket in the guest",
                "this is the fake failure");
        assertThat(start.out()).isEmpty();
        assertThat(socket).doesNotExist();
        assertThat(cli.run("status", "bk-broken", "--json").out()).doesNotContain("\"running\":true");
    }

    @Test
    void aDaemonThatDoesNotAnswerTimesOutAndLeavesNothingRunning() {
        Path boot = GuestBoot.fakeBuildkitd(sshd, "--fail-list-workers");
        Path socket = work.resolve("mute.sock");

        Run start = cli.with(Map.of("LIMACTL_DOUBLE_BOOT", boot.toString()))
                .run("start", "bk-mute", "--unix", socket.toString(), "--timeout", "15s");

        assertThat(start.code()).as(start.toString()).isEqualTo(5);
        assertThat(start.err()).contains("while waiting for buildkitd to answer", "gRPC status 14",
                "buildkitd's log ends with");
        assertThat(socket).doesNotExist();
        assertThat(cli.run("status", "bk-mute", "--json").out()).contains("\"running\":false");
    }

    @Test
    void sshPassesEachArgumentUnchangedAndTheExitCodeThrough() {
        ok("start", "bk-ssh", "--unix", work.resolve("ssh.sock").toString());

        Run printed = ok("ssh", "bk-ssh", "--", "printf", "%s|", "a b", "it's", "$(id)", ";", "new\nline", "*");
        Run exit = cli.run("ssh", "bk-ssh", "--", "sh", "-c", "exit 7");

        assertThat(printed.out()).isEqualTo("a b|it's|$(id)|;|new\nline|*|");
        assertThat(exit.code()).isEqualTo(7);
        ok("stop", "bk-ssh");
        assertThat(cli.run("ssh", "bk-ssh", "--", "true").code()).isEqualTo(6);
    }

    @Test
    void deleteKeepsALimaInstanceTheToolDidNotCreate() {
        assertThat(lima.runWithStdin("minimumLimaVersion: 2.0.0\n", "create", "--name", "mine", "-").exitCode())
                .isZero();
        ok("start", "mine", "--unix", work.resolve("mine.sock").toString());

        Run delete = ok("delete", "mine", "--force");

        assertThat(delete.err()).contains("was not created by buildkit-machine, so it is kept");
        assertThat(lima.run("list", "--json").stdout()).contains("\"name\":\"mine\"");
        assertThat(work.resolve("mine.sock")).doesNotExist();
        assertThat(lima.run("delete", "-f", "mine").exitCode()).isZero();
    }

    @Test
    void deleteRefusesARunningMachineWithoutForce() {
        ok("start", "bk-unix", "--unix", work.resolve("bk.sock").toString());

        Run delete = cli.run("delete", "bk-unix");

        assertThat(delete.code()).isEqualTo(6);
        assertThat(delete.err()).contains("stop it first", "--force");
        assertThat(work.resolve("bk.sock")).exists();
        ok("stop", "bk-unix");
    }

    /** The ssh process that carries a machine's forward: the keeper's only child. */
    ProcessHandle forwardSsh(String name) throws IOException {
        long keeper = status(name).at("/forward/pid").asLong();
        Optional<ProcessHandle> ssh = ProcessHandle.of(keeper).orElseThrow().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("/ssh")).orElse(false))
                .findFirst();
        assertThat(ssh).as("the keeper's ssh").isPresent();
        return ssh.get();
    }

    static void awaitAnswer(DaemonProbe probe, Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < end) {
            try {
                probe.listWorkers(Duration.ofMillis(500));
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
    }
}
