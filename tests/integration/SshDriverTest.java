package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.DaemonProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.NetnsHost;
import support.TestSshd;

/**
 * The ssh driver against a build host of its own: a network namespace with a real sshd on its own address, reached
 * over a veth pair. Host keys are checked against a known_hosts file, as they would be against the user's.
 */
class SshDriverTest {
    static final ObjectMapper JSON = new ObjectMapper();

    NetnsHost remote;
    Path work;
    Path knownHosts;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        remote = NetnsHost.start();
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmr");
        knownHosts = Files.writeString(work.resolve("known_hosts"), remote.knownHostsLine() + "\n");
        cli = new CliRunner(Map.of("PATH", LifecycleTest.SYSTEM_PATH, "HOME", work.toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "remote");
        }
        TestSshd.closeAll(remote);
        TestSshd.deleteTree(work);
    }

    String hostSpec() {
        return remote.destination() + ":" + remote.port();
    }

    Run start(String name, Path hosts, String... more) {
        List<String> args = new ArrayList<>(List.of("start", name, "--host",
                hostSpec(), "--identity", remote.clientKey().toString(), "--known-hosts", hosts.toString(),
                "--timeout", "60s"));
        args.addAll(List.of(more));
        return cli.run(args.toArray(String[]::new));
    }

    /** Starts the build host's own buildkitd (the fake), as its owner would have it running. */
    Path hostDaemon() throws Exception {
        Path fake = remote.guestFile("FakeBuildkitd.java", Files.readString(FakeDaemons.source()), false);
        Path socket = remote.runtimeDir().resolve("buildkit-default/buildkitd.sock");
        Process daemon = remote.exec("java", fake.toString(), "--addr", "unix://" + socket,
                "--platforms", "linux/riscv64");
        daemon.getInputStream().close();
        for (int i = 0; i < 200 && !Files.exists(socket); i++) {
            Thread.sleep(50);
        }
        assertThat(socket).as("the host's buildkitd socket").exists();
        return socket;
    }

    @Test
    void usesTheBuildHostsDaemonAndLeavesItRunningAtStop() throws Exception {
        Path hostSocket = hostDaemon();
        Path socket = work.resolve("remote.sock");

        Run start = start("remote", knownHosts, "--unix", socket.toString());

        assertThat(start.code()).as(start.toString()).isZero();
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2)).get(0).platforms())
                .containsExactly("linux/riscv64");
        JsonNode status = JSON.readTree(cli.run("status", "remote", "--json").out());
        assertThat(status.get("driver").asText()).isEqualTo("ssh");
        assertThat(status.get("remote").asText()).isEqualTo(hostSpec());
        assertThat(status.at("/endpoints/0/answers").asBoolean()).isTrue();
        Run who = cli.run("ssh", "remote", "--", "id", "-un");
        assertThat(who.out().strip()).isEqualTo(remote.user());

        assertThat(cli.run("stop", "remote").code()).isZero();

        assertThat(socket).doesNotExist();
        assertThat(hostSocket).as("a daemon the tool did not start is left alone").exists();
    }

    @Test
    void anUnknownHostKeyIsRefusedWithItsFingerprintAndNothingIsKept() throws Exception {
        hostDaemon();
        Path empty = Files.writeString(work.resolve("empty_known_hosts"), "");

        Run start = start("stranger", empty);

        assertThat(start.code()).as(start.toString()).isEqualTo(4);
        assertThat(start.err().lines().filter(l -> l.contains("error:")).toList()).hasSize(1);
        assertThat(start.err()).contains("is not in your known hosts", remote.hostKeyFingerprint(), "ssh-keyscan");
        assertThat(work.resolve("state/stranger")).doesNotExist();
    }

    @Test
    void withoutADaemonThereItSaysHowToGetOne() {
        Run start = start("remote", knownHosts);

        assertThat(start.code()).as(start.toString()).isEqualTo(6);
        assertThat(start.err()).contains("no buildkitd answers on", "--start-daemon");
        assertThat(work.resolve("state/remote")).doesNotExist();
    }

    @Test
    void startDaemonRunsOneOnTheHostAndStopEndsIt() throws Exception {
        Assumptions.assumeTrue("bkmguest".equals(remote.user()),
                "needs the dedicated guest account bkmguest, whose ~/.local/bin gets a fake buildkitd");
        Path bin = Path.of("/home/bkmguest/.local/bin");
        Assumptions.assumeFalse(Files.exists(bin.resolve("buildkitd")), bin + "/buildkitd exists; not replacing it");
        Path fake = remote.guestFile("FakeBuildkitd.java", Files.readString(FakeDaemons.source()), false);
        FakeDaemons.install(bin, fake, "");
        try {
            Run start = start("remote", knownHosts, "--start-daemon");

            assertThat(start.code()).as(start.toString()).isZero();
            assertThat(start.err()).contains("starting a rootless buildkitd on");
            Path started = remote.runtimeDir().resolve("buildkit-machine/buildkitd.sock");
            assertThat(started).exists();

            assertThat(cli.run("stop", "remote").code()).isZero();

            for (int i = 0; i < 100 && Files.exists(started); i++) {
                Thread.sleep(50);
            }
            assertThat(started).as("the daemon the tool started is stopped").doesNotExist();
        } finally {
            Files.deleteIfExists(bin.resolve("buildkitd"));
            Files.deleteIfExists(bin.resolve("rootlesskit"));
        }
    }
}
