package support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Assumptions;

/**
 * A remote Linux build host on its own network: a network namespace joined to this host by a veth pair
 * ({@code 10.213.K.1/30} here, {@code 10.213.K.2/30} as {@code eth0} inside), running a real OpenSSH server.
 *
 * <p>Unlike {@link TestSshd} (loopback only), clients reach it at a real address over a real link, as they would a
 * build server. The namespace gets no default route, so nothing in it can reach beyond the link. Needs root;
 * aborts the calling test (visibly skipped) when that, iproute2 or OpenSSH are missing. {@link #close()} ends
 * every process the fixture started, deletes the veth and the namespace and removes the temp folder; it also
 * runs at JVM exit if a test forgot it, and after a failed {@link #start()}.
 */
public final class NetnsHost implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    private static final String PRIVILEGED_HINT = "run the tests as root with CAP_SYS_ADMIN and CAP_NET_ADMIN"
            + " (in a container: --privileged, or --cap-add SYS_ADMIN --cap-add NET_ADMIN)";

    private final Tools tools;
    private final Path dir;
    private final String user;
    private final int port;
    private String namespace;
    private final Path clientKey;
    private final Path hostKey;
    private final Path runtimeDir;
    private final Path guestDir;
    private final Path log;
    private final List<Process> started = new ArrayList<>();
    private final Thread exitHook = new Thread(this::close, "NetnsHost-exit");
    private boolean namespaceCreated;
    private String hostInterface;
    private int subnet = -1;
    private Process sshd;
    private boolean closed;

    /** Paths of the programs the fixture runs. */
    private record Tools(Path ip, Path sshd, Path keygen, Path setpriv) {
    }

    private NetnsHost(Tools tools, Path dir, String user, int port) {
        this.tools = tools;
        this.dir = dir;
        this.user = user;
        this.port = port;
        this.clientKey = dir.resolve("client_ed25519");
        this.hostKey = dir.resolve("ssh_host_ed25519_key");
        this.runtimeDir = dir.resolve("run");
        this.guestDir = dir.resolve("guest");
        this.log = dir.resolve("sshd.log");
    }

    /** Starts a host whose sshd listens on port 22, or aborts the calling test when it cannot run here. */
    public static NetnsHost start() {
        return start(22);
    }

    /** Starts a host whose sshd listens on {@code port}, or aborts the calling test when it cannot run here. */
    public static NetnsHost start(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        Tools tools = findTools();
        Path dir = createDir();
        NetnsHost host = new NetnsHost(tools, dir, TestSshd.guestUser(true), port);
        // Registered first so that even a JVM ending mid-start leaves no namespace behind.
        Runtime.getRuntime().addShutdownHook(host.exitHook);
        try {
            host.boot();
            return host;
        } catch (RuntimeException | Error e) {
            host.close();
            throw e;
        }
    }

    /** The host's address, where its sshd listens: {@code 10.213.K.2}. */
    public String address() {
        return "10.213." + subnet + ".2";
    }

    /** This side's address on the link: {@code 10.213.K.1}. */
    public String peerAddress() {
        return "10.213." + subnet + ".1";
    }

    /** The port sshd listens on. */
    public int port() {
        return port;
    }

    /** The user to log in as (see {@link TestSshd#guestUser}). */
    public String user() {
        return user;
    }

    /** Private ed25519 key (no passphrase) accepted for {@link #user()}. */
    public Path clientKey() {
        return clientKey;
    }

    /** {@code USER@ADDRESS}, for ssh (with {@code -p} {@link #port()}). */
    public String destination() {
        return user + "@" + address();
    }

    /** The network namespace's name, e.g. for {@code ip -n NAME route}. */
    public String namespace() {
        return namespace;
    }

    /** This side's end of the veth pair (the other end is {@code eth0} in the namespace). */
    public String hostInterface() {
        return hostInterface;
    }

    /** A known_hosts line: {@code ADDRESS ssh-ed25519 AAAA...}, or {@code [ADDRESS]:PORT ...} off port 22. */
    public String knownHostsLine() {
        try {
            String[] pub = Files.readString(Path.of(hostKey + ".pub")).trim().split("\\s+");
            String host = port == 22 ? address() : "[" + address() + "]:" + port;
            return host + " " + pub[0] + " " + pub[1];
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The host key's fingerprint as {@code ssh-keygen -lf} prints it: {@code SHA256:...}. */
    public String hostKeyFingerprint() {
        String out = run(List.of(tools.keygen().toString(), "-l", "-E", "sha256", "-f", hostKey + ".pub"));
        return out.trim().split("\\s+")[1];
    }

    /** XDG_RUNTIME_DIR of every SSH session and {@link #exec} command: guest-owned, mode 0700. */
    public Path runtimeDir() {
        return runtimeDir;
    }

    /** A guest-owned folder (mode 0755) for files the guest reads or writes. */
    public Path guestDir() {
        return guestDir;
    }

    /** Writes a file the guest can read (and run, when executable) below {@link #guestDir()}. */
    public Path guestFile(String name, String content, boolean executable) {
        Path file = guestDir.resolve(name).normalize();
        if (!file.startsWith(guestDir) || file.equals(guestDir)) {
            throw new IllegalArgumentException("guest file outside the guest folder: " + name);
        }
        try {
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

    /**
     * Runs {@code command} inside the namespace as {@link #user()}, with HOME, USER, LOGNAME and XDG_RUNTIME_DIR
     * set as a session there would have them; the working folder is {@link #guestDir()}. The caller reads or
     * discards the process's streams; {@link #close()} ends it (and its children) if still running.
     */
    public synchronized Process exec(String... command) {
        if (closed) {
            throw new IllegalStateException("host closed: " + this);
        }
        List<String> argv = new ArrayList<>(List.of(tools.ip().toString(), "netns", "exec", namespace,
                tools.setpriv().toString(), "--reuid", user, "--regid", primaryGroup(), "--init-groups", "--"));
        argv.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(guestDir.toFile());
        pb.environment().putAll(Map.of("HOME", home(), "USER", user, "LOGNAME", user,
                "XDG_RUNTIME_DIR", runtimeDir.toString()));
        try {
            // ip netns exec and setpriv both exec, so this process is the command itself.
            Process p = pb.start();
            started.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last 40 lines of sshd's log, for failure messages. */
    public String logTail() {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
        } catch (IOException e) {
            return "(sshd log unreadable: " + e + ")";
        }
    }

    /**
     * Ends what the fixture started (exec'd commands, sshd, its sessions, then anything left in the namespace,
     * which only the fixture could have put there), deletes the veth and the namespace and removes the temp
     * folder. Safe to call twice and after a failed start.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeExitHook();
        started.forEach(NetnsHost::end);
        if (sshd != null) {
            end(sshd);
        }
        endRemainingInNamespace();
        deleteNetwork();
        TestSshd.deleteTree(dir);
    }

    @Override
    public String toString() {
        return "NetnsHost[" + destination() + ":" + port + ", " + namespace + ", " + dir + "]";
    }

    // ------------------------------------------------------------------------------------------------------
    // Start

    private void boot() {
        checkNotLocked();
        createNamespace();
        createLink();
        configureLink();
        prepareFiles();
        launchSshd();
    }

    private static Tools findTools() {
        if (!isRoot()) {
            Assumptions.abort("NetnsHost needs root to create network namespaces; " + PRIVILEGED_HINT);
        }
        Path ip = findTool("ip", "apt-get install iproute2", "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip");
        Path sshd = findTool("sshd", "apt-get install openssh-server", "/usr/sbin/sshd", "/usr/local/sbin/sshd");
        Path keygen = findTool("ssh-keygen", "apt-get install openssh-client", "/usr/bin/ssh-keygen");
        findTool("ssh", "apt-get install openssh-client", "/usr/bin/ssh");
        Path setpriv = findTool("setpriv", "apt-get install util-linux", "/usr/bin/setpriv", "/bin/setpriv");
        return new Tools(ip, sshd, keygen, setpriv);
    }

    private static boolean isRoot() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static Path createDir() {
        try {
            Path dir = Files.createTempDirectory("bkm-netns");
            // The guest user reads the authorized keys and its folders below this one.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Names carry our PID; a crashed earlier JVM with the same PID may have left one, so try a few. */
    private void createNamespace() {
        for (int attempt = 0; attempt < 20; attempt++) {
            String name = "bkm-" + ProcessHandle.current().pid() + "-" + COUNTER.getAndIncrement();
            Result r = call(List.of(tools.ip().toString(), "netns", "add", name));
            if (r.code() == 0) {
                // Only now: a failed add must not make close() delete someone else's namespace.
                namespace = name;
                namespaceCreated = true;
                return;
            }
            abortIfDenied("ip netns add " + name, r.out());
            if (!r.out().contains("File exists")) {
                throw new IllegalStateException("ip netns add " + name + " failed: " + r.out());
            }
        }
        throw new IllegalStateException("no free network namespace name for a test host");
    }

    /**
     * Claims a free /30: the host-side veth name carries K, so a second fixture (this JVM or another) that picks
     * the same K fails at "ip link add" and moves on. The peer is created directly in the namespace, so no
     * half-moved veth is ever left on this side.
     */
    private void createLink() {
        String taken = ipText("-4", "-o", "addr", "show") + ipText("-4", "route", "show", "table", "all");
        int first = (int) Math.floorMod(ProcessHandle.current().pid() * 31 + COUNTER.getAndIncrement(), 256L);
        for (int i = 0; i < 256; i++) {
            int k = (first + i) % 256;
            if (taken.contains("10.213." + k + ".")) {
                continue;
            }
            String name = "bkmnh" + k;
            Result r = call(List.of(tools.ip().toString(), "link", "add", name, "type", "veth",
                    "peer", "name", "eth0", "netns", namespace));
            if (r.code() == 0) {
                hostInterface = name;
                subnet = k;
                return;
            }
            abortIfDenied("ip link add " + name + " type veth", r.out());
            if (!r.out().contains("File exists")) {
                throw new IllegalStateException("ip link add " + name + " type veth failed: " + r.out());
            }
        }
        throw new IllegalStateException("no free 10.213.K.0/30 subnet for a test host");
    }

    private void configureLink() {
        ip("addr", "add", peerAddress() + "/30", "dev", hostInterface);
        ip("link", "set", hostInterface, "up");
        ip("-n", namespace, "addr", "add", address() + "/30", "dev", "eth0");
        ip("-n", namespace, "link", "set", "eth0", "up");
        // Guest daemons may listen on 127.0.0.1 inside; a fresh namespace has lo down.
        ip("-n", namespace, "link", "set", "lo", "up");
    }

    private void prepareFiles() {
        try {
            keygen(hostKey, "bkm-netns-host");
            keygen(clientKey, "bkm-netns-client");
            Path authorized = dir.resolve("authorized_keys");
            Files.copy(Path.of(clientKey + ".pub"), authorized);
            // Read by sshd with the guest's rights (StrictModes no spares ownership checks).
            Files.setPosixFilePermissions(authorized, PosixFilePermissions.fromString("rw-r--r--"));
            guestFolder(runtimeDir, "rwx------");
            guestFolder(guestDir, "rwxr-xr-x");
            // ip netns exec only remounts /sys, so the namespace shares /run: sshd needs its privsep folder.
            Path privsep = Path.of("/run/sshd");
            if (!Files.isDirectory(privsep)) {
                Files.createDirectories(privsep);
                Files.setPosixFilePermissions(privsep, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void keygen(Path key, String comment) {
        run(List.of(tools.keygen().toString(), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
                key.toString()));
    }

    private void guestFolder(Path folder, String mode) throws IOException {
        Files.createDirectory(folder);
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString(mode));
        chownToGuest(folder);
    }

    private void launchSshd() {
        try {
            Path config = writeConfig();
            ProcessBuilder pb = new ProcessBuilder(tools.ip().toString(), "netns", "exec", namespace,
                    tools.sshd().toString(), "-D", "-e", "-f", config.toString());
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            sshd = pb.start();
            awaitListening();
        } catch (IOException e) {
            throw new UncheckedIOException("sshd in " + namespace + " did not start", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting sshd in " + namespace, e);
        }
    }

    private Path writeConfig() throws IOException {
        List<String> lines = new ArrayList<>(List.of(
                "ListenAddress " + address(),
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
                // A restarted daemon leaves its socket file; forwards onto it must replace it.
                "StreamLocalBindUnlink yes",
                "PermitRootLogin prohibit-password",
                // Clients multiplex many sessions and forwards over one master connection.
                "MaxSessions 64",
                "MaxStartups 64",
                "LogLevel VERBOSE",
                "SetEnv XDG_RUNTIME_DIR=" + runtimeDir));
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
        String listening = "Server listening on " + address() + " port " + port;
        while (Instant.now().isBefore(deadline)) {
            if (!sshd.isAlive()) {
                throw new IOException("sshd exited with " + sshd.exitValue() + ":\n" + logTail());
            }
            // Connecting from this side proves the whole path: veth, addresses, links up, sshd bound.
            if (logTail().contains(listening) && accepts()) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IOException("sshd did not listen on " + address() + ":" + port + " within " + START_TIMEOUT
                + ":\n" + logTail());
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** With UsePAM no, sshd refuses a locked account ("!" in /etc/shadow) even for keys: say so plainly. */
    private void checkNotLocked() {
        Path shadow = Path.of("/etc/shadow");
        try {
            if (!Files.isReadable(shadow)) {
                return;
            }
            for (String line : Files.readAllLines(shadow)) {
                String[] f = line.split(":", -1);
                if (f.length > 1 && f[0].equals(user) && f[1].startsWith("!")) {
                    throw new IllegalStateException("guest user " + user + " is locked, so sshd (UsePAM no)"
                            + " refuses it; unlock it without a password: usermod -p '*' " + user);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Close

    private void removeExitHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException e) {
            // The JVM is exiting: we are (or run beside) the hook itself.
        }
    }

    /** Ends a process and its descendants, politely first. */
    private static void end(Process p) {
        List<ProcessHandle> children = p.descendants().toList();
        children.forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * Daemons started over SSH with setsid leave sshd's process tree but stay in the namespace; while any
     * process lives there, the namespace (and with it our veth) outlives "ip netns del".
     */
    private void endRemainingInNamespace() {
        if (!namespaceCreated) {
            return;
        }
        for (int round = 0; round < 2; round++) {
            List<ProcessHandle> left = namespacePids();
            if (left.isEmpty()) {
                return;
            }
            left.forEach(round == 0 ? ProcessHandle::destroy : ProcessHandle::destroyForcibly);
            Instant deadline = Instant.now().plusSeconds(5);
            while (left.stream().anyMatch(ProcessHandle::isAlive) && Instant.now().isBefore(deadline)) {
                sleep(50);
            }
        }
    }

    private List<ProcessHandle> namespacePids() {
        Result r = call(List.of(tools.ip().toString(), "netns", "pids", namespace));
        return r.out().lines().map(String::trim).filter(s -> s.matches("\\d+"))
                .map(s -> ProcessHandle.of(Long.parseLong(s))).flatMap(Optional::stream).toList();
    }

    private void deleteNetwork() {
        // Deleting our end removes both ends, even if the namespace were still held open.
        if (hostInterface != null) {
            call(List.of(tools.ip().toString(), "link", "del", hostInterface));
        }
        if (namespaceCreated) {
            Result r = call(List.of(tools.ip().toString(), "netns", "del", namespace));
            if (r.code() != 0) {
                System.err.println("NetnsHost: ip netns del " + namespace + " failed: " + r.out());
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Helpers

    private record Result(int code, String out) {
    }

    private void ip(String... args) {
        List<String> argv = new ArrayList<>(List.of(tools.ip().toString()));
        argv.addAll(List.of(args));
        run(argv);
    }

    private String ipText(String... args) {
        List<String> argv = new ArrayList<>(List.of(tools.ip().toString()));
        argv.addAll(List.of(args));
        return call(argv).out();
    }

    private static void abortIfDenied(String what, String out) {
        if (out.contains("Operation not permitted") || out.contains("Permission denied")) {
            Assumptions.abort(what + " is not permitted here (" + out.trim() + "); " + PRIVILEGED_HINT);
        }
        if (out.contains("Operation not supported") || out.contains("Unknown device type")) {
            Assumptions.abort(what + " is not supported by this kernel (" + out.trim() + "); enable veth"
                    + " and network namespaces (CONFIG_VETH, CONFIG_NET_NS)");
        }
    }

    private String primaryGroup() {
        return run(List.of("id", "-g", user)).trim();
    }

    private String home() {
        String out = run(List.of("getent", "passwd", user)).trim();
        String[] f = out.split(":", -1);
        return f.length > 5 && !f[5].isEmpty() ? f[5] : "/";
    }

    private void chownToGuest(Path path) {
        if (!user.equals(System.getProperty("user.name"))) {
            // "user:" also sets the user's login group.
            run(List.of("chown", user + ":", path.toString()));
        }
    }

    private static Path findTool(String name, String install, String... candidates) {
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name).toAbsolutePath();
            }
        }
        Assumptions.abort(name + " is missing, so NetnsHost cannot run; install it with: " + install);
        throw new AssertionError("unreachable");
    }

    private static String run(List<String> command) {
        Result r = call(command);
        if (r.code() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.out());
        }
        return r.out();
    }

    private static Result call(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, out + "\n(timed out)");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
