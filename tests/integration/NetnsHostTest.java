package integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import support.LimaDouble;
import support.NetnsHost;
import support.TestSshd;

/**
 * The network-namespace build host fixture: a real sshd at a real address, pinned host keys, unix-socket
 * forwarding to a daemon inside, no route out, and nothing left behind after close().
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NetnsHostTest {
    NetnsHost host;
    Path work;

    @BeforeAll
    void startHost() throws IOException {
        host = NetnsHost.start();
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmnh");
    }

    @AfterAll
    void stopHost() {
        if (host != null) {
            host.close();
        }
        TestSshd.deleteTree(work);
    }

    record Run(int code, String out) {
    }

    @Test
    void sshWithPinnedHostKeyRunsCommandsAsGuest() throws Exception {
        Path known = knownHosts(host.knownHostsLine());
        assertThat(ssh(host, known, "true").code()).as(host.logTail()).isZero();

        Run who = ssh(host, known, "id -un; echo \"$XDG_RUNTIME_DIR\"");
        assertThat(who.out().lines()).containsExactly(host.user(), host.runtimeDir().toString());
        assertThat(host.knownHostsLine()).startsWith(host.address() + " ssh-ed25519 AAAA");
        assertThat(host.hostKeyFingerprint()).startsWith("SHA256:");
    }

    @Test
    void unknownHostKeyIsRefused() throws Exception {
        Run run = ssh(host, knownHosts(""), "true");
        assertThat(run.code()).isEqualTo(255);
        assertThat(run.out()).contains("Host key verification failed");
    }

    @Test
    void unixSocketForwardReachesDaemonInsideNamespace() throws Exception {
        Path remote = host.runtimeDir().resolve("buildkit-default/buildkitd.sock");
        // A copy the guest user can read, wherever the checkout is (a clone in a private folder is not).
        Path source = host.guestFile("FakeBuildkitd.java",
                Files.readString(LimaDouble.doublesDir().resolve("FakeBuildkitd.java")), false);
        Process fake = host.exec("java", source.toString(), "--addr", "unix://" + remote);
        awaitLine(fake, "fake buildkitd listening");

        Path local = work.resolve("fwd.sock");
        Process forward = start(sshArgs(host, knownHosts(host.knownHostsLine()), "-N",
                "-o", "ExitOnForwardFailure=yes", "-L", local + ":" + remote));
        try {
            awaitSocket(forward, local);
            assertThat(firstFrameType(local)).isEqualTo(4); // the server's SETTINGS frame
        } finally {
            forward.destroy();
            forward.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void namespaceHasNoRouteBeyondItsLink() throws Exception {
        Run routes = run(List.of("ip", "-n", host.namespace(), "-4", "route", "show", "table", "all"));
        assertThat(routes.out()).doesNotContain("default");
        assertThat(routes.out()).contains(host.address().replaceFirst("\\.2$", ".0/30") + " dev eth0");
        // A route lookup only: no packet leaves for the TEST-NET address.
        Run lookup = run(List.of("ip", "-n", host.namespace(), "route", "get", "198.51.100.1"));
        assertThat(lookup.code()).isNotZero();
        assertThat(lookup.out()).contains("unreachable");
    }

    @Test
    void closeLeavesNoNamespaceVethOrProcess() throws Exception {
        NetnsHost other = NetnsHost.start(2222);
        String ns = other.namespace();
        String veth = other.hostInterface();
        List<ProcessHandle> inside;
        try {
            assertThat(other.knownHostsLine()).startsWith("[" + other.address() + "]:2222 ssh-ed25519 ");
            assertThat(ssh(other, knownHosts(other.knownHostsLine()), "true").code()).as(other.logTail()).isZero();
            // A daemon that left sshd's process tree, as guest boot scripts do.
            ssh(other, knownHosts(other.knownHostsLine()), "setsid sleep 600 </dev/null >/dev/null 2>&1 &");
            inside = run(List.of("ip", "netns", "pids", ns)).out().lines()
                    .flatMap(pid -> ProcessHandle.of(Long.parseLong(pid.trim())).stream()).toList();
            assertThat(inside).hasSizeGreaterThan(1); // sshd and the sleep
        } finally {
            other.close();
        }
        other.close(); // twice is harmless
        assertThat(inside).noneMatch(ProcessHandle::isAlive);
        assertThat(run(List.of("ip", "netns", "list")).out()).doesNotContain(ns);
        assertThat(run(List.of("ip", "link", "show")).out()).doesNotContain(veth + ":").doesNotContain(veth + "@");
    }

    @Test
    void failedStartLeavesNothingBehind() throws Exception {
        String before = run(List.of("ip", "netns", "list")).out();
        String prefix = "bkm-" + ProcessHandle.current().pid() + "-";
        // An unknown guest user fails at chown, after the namespace and veth exist.
        System.setProperty("BKM_TEST_GUEST_USER", "bkm-no-such-user");
        try {
            assertThatThrownBy(NetnsHost::start).hasMessageContaining("bkm-no-such-user");
        } finally {
            System.clearProperty("BKM_TEST_GUEST_USER");
        }
        assertThat(ours(run(List.of("ip", "netns", "list")).out(), prefix)).isEqualTo(ours(before, prefix));
    }

    // ------------------------------------------------------------------------------------------------------

    static List<String> ours(String netnsList, String prefix) {
        return netnsList.lines().map(l -> l.split("\\s+")[0]).filter(n -> n.startsWith(prefix)).sorted().toList();
    }

    Path knownHosts(String line) throws IOException {
        Path file = Files.createTempFile(work, "known_hosts", "");
        Files.writeString(file, line.isEmpty() ? "" : line + "\n");
        return file;
    }

    static List<String> sshArgs(NetnsHost h, Path known, String... rest) {
        List<String> argv = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=" + known, "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
                "-i", h.clientKey().toString(), "-p", String.valueOf(h.port()), h.destination()));
        argv.addAll(List.of(rest));
        return argv;
    }

    static Run ssh(NetnsHost h, Path known, String command) throws Exception {
        return run(sshArgs(h, known, command));
    }

    static Process start(List<String> argv) throws IOException {
        return new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    static Run run(List<String> argv) throws Exception {
        Process p = start(argv);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("finished: " + argv).isTrue();
        return new Run(p.exitValue(), out);
    }

    /** Reads the daemon's stderr until its ready line; its stdout is not used. */
    static void awaitLine(Process p, String expected) throws IOException {
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = err.readLine()) != null; ) {
            if (line.contains(expected)) {
                return;
            }
            seen.append(line).append('\n');
        }
        throw new AssertionError("daemon ended without '" + expected + "':\n" + seen);
    }

    static void awaitSocket(Process forward, Path socket) throws Exception {
        for (int i = 0; i < 300 && !Files.exists(socket); i++) {
            assertThat(forward.isAlive()).as("ssh -L alive").isTrue();
            Thread.sleep(20);
        }
        assertThat(socket).exists();
    }

    /** Sends the HTTP/2 client preface and returns the type of the first frame the server sends back. */
    static int firstFrameType(Path socket) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer header = ByteBuffer.allocate(9);
            while (header.hasRemaining() && ch.read(header) >= 0) {
                // a frame header is 9 bytes: length (3), type (1), flags (1), stream id (4)
            }
            assertThat(header.position()).as("frame header bytes").isEqualTo(9);
            return header.get(3);
        }
    }
}
