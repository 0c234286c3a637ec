package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.TestSshd;

/** Finding buildkitd's socket in a guest (a real sshd) that waits for it, as start does while buildkitd comes up. */
class GuestDaemonTest {
    TestSshd sshd;
    Path work;
    GuestDaemon daemon;
    Path socket;

    @BeforeEach
    void connect() throws IOException {
        sshd = TestSshd.start();
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmg");
        Path knownHosts = Files.writeString(work.resolve("known_hosts"), sshd.knownHostsLine() + "\n");
        Path config = Files.writeString(work.resolve("ssh.config"), String.join("\n",
                "Host guest",
                "  HostName 127.0.0.1",
                "  Port " + sshd.port(),
                "  User " + sshd.user(),
                "  IdentityFile " + sshd.clientKey(),
                "  IdentitiesOnly yes",
                "  UserKnownHostsFile " + knownHosts,
                "  StrictHostKeyChecking yes",
                ""));
        Host host = Host.of(Map.of("PATH", LifecycleTest.SYSTEM_PATH, "HOME", work.toString()), Log.silent());
        daemon = new GuestDaemon(new Ssh(host), SshTarget.fromConfig(config));
        socket = sshd.runtimeDir().resolve("buildkit-default").resolve("buildkitd.sock");
    }

    @AfterEach
    void disconnect() {
        TestSshd.closeAll(sshd);
        TestSshd.deleteTree(work);
    }

    @Test
    void aSocketThatAppearsWhileItWaitsIsFoundWithoutWaitingOutTheRest() throws Exception {
        Thread later = new Thread(() -> {
            try {
                Thread.sleep(700);
                listen();
            } catch (InterruptedException | IOException e) {
                throw new IllegalStateException(e);
            }
        });
        later.start();
        long began = System.nanoTime();

        Optional<String> found = daemon.findSocket(Duration.ofSeconds(20));

        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
        later.join();
        assertThat(found).contains(socket.toString());
        assertThat(took).as("it waited for the socket, then stopped").isBetween(700L, 15_000L);
    }

    @Test
    void withoutASocketItLooksForTheWholeWaitAndThenSaysNone() {
        long began = System.nanoTime();

        Optional<String> found = daemon.findSocket(Duration.ofMillis(600));

        assertThat(found).isEmpty();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)).isGreaterThanOrEqualTo(600L);
    }

    @Test
    void aSocketThereAlreadyIsFoundAtOnce() throws IOException {
        listen();

        assertThat(daemon.findSocket()).contains(socket.toString());
    }

    private void listen() throws IOException {
        Files.createDirectories(socket.getParent());
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }
}
