package support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;

/**
 * A real OpenSSH server on 127.0.0.1 at a free port, standing in for the SSH side of a Lima guest.
 *
 * <p>Runs as root when the tests do (CI), so it can log in a separate guest user ({@code bkmguest}) like a
 * VM would have its own user. Everything it uses lives in one temp folder removed by {@link #close()}: host
 * and client keys, sshd_config, the authorized keys, the log, the guest's XDG_RUNTIME_DIR (set for every
 * session with {@code SetEnv}, so each test guest has its own runtime dir) and a guest-owned folder for
 * files the guest must read or write.
 */
public final class TestSshd implements AutoCloseable {
    private static final String INSTALL_HINT = "install it with: apt-get install openssh-server openssh-client";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    private final Path dir;
    private final String user;
    private final boolean root;
    private final Path clientKey;
    private final Path hostKey;
    private final Path runtimeDir;
    private final Path guestDir;
    private final Path log;
    private Process process;
    private int port;

    private TestSshd(Path dir, String user, boolean root) {
        this.dir = dir;
        this.user = user;
        this.root = root;
        this.clientKey = dir.resolve("client_ed25519");
        this.hostKey = dir.resolve("ssh_host_ed25519_key");
        this.runtimeDir = dir.resolve("run");
        this.guestDir = dir.resolve("guest");
        this.log = dir.resolve("sshd.log");
    }

    /**
     * Starts sshd, or aborts the calling test (visibly skipped, never passed) when sshd or ssh-keygen are
     * missing.
     */
    public static TestSshd start() {
        Path sshd = findTool("sshd", "/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd");
        Path keygen = findTool("ssh-keygen", "/usr/bin/ssh-keygen", "/usr/local/bin/ssh-keygen");
        findTool("ssh", "/usr/bin/ssh", "/usr/local/bin/ssh");
        try {
            Path dir = Files.createTempDirectory("bkm-sshd");
            // The guest user reads the authorized keys and its folders below this one.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            boolean root = ((Number) Files.getAttribute(dir, "unix:uid")).intValue() == 0;
            TestSshd s = new TestSshd(dir, guestUser(root), root);
            try {
                s.checkNotLocked();
                s.prepare(keygen);
                s.launch(sshd);
                return s;
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("test sshd did not start", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the test sshd", e);
        }
    }

    /** The port sshd listens on (127.0.0.1). */
    public int port() {
        return port;
    }

    /** The user the tests log in as: the guest's user. */
    public String user() {
        return user;
    }

    /** Private ed25519 key (no passphrase) accepted for {@link #user()}. */
    public Path clientKey() {
        return clientKey;
    }

    /** XDG_RUNTIME_DIR of every session on this sshd: owned by the guest user, mode 0700. */
    public Path runtimeDir() {
        return runtimeDir;
    }

    /** XDG_CONFIG_HOME of every session: where the guest's buildkitd.toml goes. Made by the guest when needed. */
    public Path configDir() {
        return guestDir.resolve("config");
    }

    /** A guest-owned folder (mode 0755) for files the guest reads or writes. */
    public Path guestDir() {
        return guestDir;
    }

    /** {@code USER@127.0.0.1:PORT}, the form the limactl double takes. */
    public String destination() {
        return user + "@127.0.0.1:" + port;
    }

    /** Whether sshd runs as root (and so may serve a guest user other than the current one). */
    public boolean runsAsRoot() {
        return root;
    }

    /** SHA256 fingerprint of the host key, as ssh prints it ({@code SHA256:...}). */
    public String hostKeyFingerprint() {
        String out = run(List.of("ssh-keygen", "-l", "-E", "sha256", "-f", hostKey + ".pub"));
        return out.trim().split("\\s+")[1];
    }

    /** A known_hosts line for this server: {@code [127.0.0.1]:PORT ssh-ed25519 AAAA...}. */
    public String knownHostsLine() {
        try {
            String[] pub = Files.readString(Path.of(hostKey + ".pub")).trim().split("\\s+");
            return "[127.0.0.1]:" + port + " " + pub[0] + " " + pub[1];
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last 40 lines of sshd's log, for failure messages. */
    public String logTail() {
        return logTail(40);
    }

    /** The last {@code lines} lines of sshd's log. */
    public String logTail(int lines) {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(sshd log unreadable: " + e + ")";
        }
    }

    /**
     * Writes a file the guest user can read (and run, when executable) into {@link #guestDir()}; sub folders
     * in {@code name} are created guest-owned too.
     */
    public Path guestFile(String name, String content, boolean executable) {
        try {
            Path file = guestDir.resolve(name).normalize();
            if (!file.startsWith(guestDir)) {
                throw new IllegalArgumentException("guest file outside the guest folder: " + name);
            }
            Files.createDirectories(file.getParent());
            Files.writeString(file, content, StandardCharsets.UTF_8);
            String mode = executable ? "rwxr-xr-x" : "rw-r--r--";
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
            for (Path p = file; !p.equals(guestDir); p = p.getParent()) {
                chownToGuest(p);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A guest-owned sub folder of {@link #guestDir()} (created when missing), e.g. for logs. */
    public Path guestSubdir(String name) {
        try {
            Path sub = guestDir.resolve(name).normalize();
            if (!sub.startsWith(guestDir)) {
                throw new IllegalArgumentException("guest folder outside the guest folder: " + name);
            }
            Files.createDirectories(sub);
            Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("rwxr-xr-x"));
            for (Path p = sub; !p.equals(guestDir); p = p.getParent()) {
                chownToGuest(p);
            }
            return sub;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Ends sshd and the per-connection sshd processes it forked (all started by this fixture, ended by PID),
     * then removes the temp folder. Guest processes that left their session (setsid) are not touched: whoever
     * started them ends them (the limactl double does at stop).
     */
    @Override
    public void close() {
        if (process != null) {
            List<ProcessHandle> children = process.descendants().toList();
            children.forEach(ProcessHandle::destroy);
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
            process = null;
        }
        deleteTree(dir);
    }

    @Override
    public String toString() {
        return "TestSshd[" + destination() + ", " + dir + "]";
    }

    // ------------------------------------------------------------------------------------------------------

    private void prepare(Path keygen) throws IOException, InterruptedException {
        run(List.of(keygen.toString(), "-q", "-t", "ed25519", "-N", "", "-C", "bkm-test-host", "-f",
                hostKey.toString()));
        run(List.of(keygen.toString(), "-q", "-t", "ed25519", "-N", "", "-C", "bkm-test-client", "-f",
                clientKey.toString()));
        Path authorized = dir.resolve("authorized_keys");
        Files.copy(Path.of(clientKey + ".pub"), authorized);
        // Read by sshd with the guest user's rights (StrictModes no spares ownership checks).
        Files.setPosixFilePermissions(authorized, PosixFilePermissions.fromString("rw-r--r--"));
        Files.createDirectory(runtimeDir);
        Files.setPosixFilePermissions(runtimeDir, PosixFilePermissions.fromString("rwx------"));
        chownToGuest(runtimeDir);
        Files.createDirectory(guestDir);
        Files.setPosixFilePermissions(guestDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        chownToGuest(guestDir);
        if (root) {
            // sshd's privilege separation needs this folder when it runs as root.
            Path privsep = Path.of("/run/sshd");
            if (!Files.isDirectory(privsep)) {
                Files.createDirectories(privsep);
                Files.setPosixFilePermissions(privsep, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    private void launch(Path sshd) throws IOException, InterruptedException {
        IOException last = null;
        // A free port can be taken between probing and binding: try a few.
        for (int attempt = 0; attempt < 3; attempt++) {
            port = freePort();
            Path config = writeConfig();
            Files.deleteIfExists(log);
            ProcessBuilder pb = new ProcessBuilder(sshd.toString(), "-D", "-e", "-f", config.toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            process = pb.start();
            try {
                awaitListening();
                return;
            } catch (IOException e) {
                last = e;
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                process = null;
                if (!logTail().contains("Address already in use")) {
                    break;
                }
            }
        }
        throw last;
    }

    private Path writeConfig() throws IOException {
        List<String> lines = new ArrayList<>(List.of(
                "ListenAddress 127.0.0.1",
                "Port " + port,
                "HostKey " + hostKey,
                "PidFile " + dir.resolve("sshd.pid"),
                "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                "AllowUsers " + user,
                "StrictModes no",
                "UsePAM no",
                "UseDNS no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "AllowTcpForwarding yes",
                "AllowStreamLocalForwarding yes",
                // A restarted buildkitd leaves its socket file; forwards onto it must replace it.
                "StreamLocalBindUnlink yes",
                "PermitRootLogin prohibit-password",
                // Lima clients multiplex many sessions and forwards over one master connection.
                "MaxSessions 64",
                "MaxStartups 64",
                "LogLevel VERBOSE",
                // Each guest has its own settings folder, as each VM has its own home: buildkitd.toml written for one
                // test must not reach the next.
                "SetEnv XDG_RUNTIME_DIR=" + runtimeDir + " XDG_CONFIG_HOME=" + configDir()));
        for (String sftp : List.of("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
                "/usr/libexec/sftp-server")) {
            if (Files.isExecutable(Path.of(sftp))) {
                lines.add("Subsystem sftp " + sftp);
                break;
            }
        }
        Path config = dir.resolve("sshd_config");
        Files.write(config, lines, StandardCharsets.UTF_8);
        return config;
    }

    private void awaitListening() throws IOException, InterruptedException {
        Instant deadline = Instant.now().plus(START_TIMEOUT);
        String listening = "Server listening on 127.0.0.1 port " + port;
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IOException("sshd exited with " + process.exitValue() + ":\n" + logTail());
            }
            // The log line proves that our sshd (not some other process) owns the port.
            if (logTail().contains(listening) && accepts()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException("sshd did not listen on 127.0.0.1:" + port + " within " + START_TIMEOUT + ":\n"
                + logTail());
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    /**
     * The guest user: {@code BKM_TEST_GUEST_USER} (system property or environment), else {@code bkmguest}
     * when it exists and we are root (only root's sshd can log in another user), else the current user.
     */
    static String guestUser(boolean root) {
        String configured = System.getProperty("BKM_TEST_GUEST_USER", System.getenv("BKM_TEST_GUEST_USER"));
        if (configured != null && !configured.isBlank()) {
            return configured.trim();
        }
        if (root && userExists("bkmguest")) {
            return "bkmguest";
        }
        return System.getProperty("user.name");
    }

    private static boolean userExists(String name) {
        try {
            Process p = new ProcessBuilder("id", "-u", name).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * With UsePAM no, sshd refuses a locked account ("!" in /etc/shadow, what useradd leaves) even for keys;
     * say so plainly instead of letting every test fail on "Permission denied (publickey)".
     */
    private void checkNotLocked() throws IOException {
        Path shadow = Path.of("/etc/shadow");
        if (!root || !Files.isReadable(shadow)) {
            return;
        }
        for (String line : Files.readAllLines(shadow)) {
            String[] f = line.split(":", -1);
            if (f.length > 1 && f[0].equals(user) && f[1].startsWith("!")) {
                throw new IllegalStateException("guest user " + user + " is locked (its /etc/shadow password starts"
                        + " with '!'), so sshd (UsePAM no) refuses it; unlock it without a password: usermod -p '*' "
                        + user);
            }
        }
    }

    private void chownToGuest(Path path) {
        if (root && !user.equals(System.getProperty("user.name"))) {
            // "user:" also sets the user's login group.
            run(List.of("chown", user + ":", path.toString()));
        }
    }

    private static Path findTool(String name, String... candidates) {
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name).toAbsolutePath();
            }
        }
        Assumptions.abort(name + " is missing, so the SSH-based tests cannot run; " + INSTALL_HINT);
        throw new AssertionError("unreachable");
    }

    private static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }

    /**
     * Closes each part that was made, in order: a setUp that stopped early (an abort because sshd is missing, say)
     * leaves the rest null, and the test must then be reported as skipped, not failed by its tearDown.
     */
    public static void closeAll(AutoCloseable... parts) {
        for (AutoCloseable part : parts) {
            if (part != null) {
                try {
                    part.close();
                } catch (Exception e) {
                    throw new IllegalStateException("could not close " + part, e);
                }
            }
        }
    }

    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // Best effort: a leftover temp file must not hide the test's own result.
                }
            });
        } catch (IOException e) {
            // Same: cleanup is best effort.
        }
    }
}
