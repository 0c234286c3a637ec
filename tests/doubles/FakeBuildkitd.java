import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import javax.net.ssl.TrustManagerFactory;
import java.util.Base64;
import java.security.PrivateKey;
import java.security.KeyFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.cert.CertificateFactory;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;

/**
 * A test double for buildkitd that follows its gRPC contract for the unary Control/ListWorkers and Control/Info only.
 *
 * <p>Run it as {@code java FakeBuildkitd.java --addr unix:///path/buildkitd.sock} (or {@code tcp://HOST:PORT}; port 0
 * picks a free port, printed in the "listening" line). It speaks HTTP/2 (prior knowledge, or TLS with ALPN h2) with
 * its own HPACK, answers ListWorkers with one worker "fake", Info with BuildKit version v0.0.0-fake (docker buildx
 * inspect and ls show it; buildx's bootstrap waits for Info), and gives every other method gRPC UNIMPLEMENTED.
 * Options: --delay-ms N (listen only after N ms), --platforms os/arch[/variant],... (default: linux/host arch),
 * --log FILE (one line per request), --fail-list-workers (answer ListWorkers with UNAVAILABLE),
 * --no-info (answer Info with UNIMPLEMENTED, as buildkitd before v0.11 did),
 * --header-fragment N (split header blocks into N-byte HEADERS/CONTINUATION frames),
 * --tls-keystore FILE [--tls-password P] (PKCS#12, password "changeit" by default), --version.
 * Like buildkitd, it takes --addr more than once to listen on several addresses, buildkitd's --tlscacert,
 * --tlscert and --tlskey (PEM, PKCS#8 key; clients must present a certificate the CA signed), and buildkitd's
 * --root, --oci-worker and --containerd-worker (ignored), so that it can stand in for buildkitd on a PATH.
 */
public final class FakeBuildkitd {
    static final String VERSION = "v0.0.0-fake";
    static final String SERVICE = "moby.buildkit.v1.Control";
    static final String LIST_WORKERS = "/" + SERVICE + "/ListWorkers";
    static final String INFO = "/" + SERVICE + "/Info";
    static final String FAILURE_MESSAGE = "fake buildkitd: ListWorkers failing on purpose (100% as asked)";

    final List<String> platforms;
    final Path log;
    final boolean failListWorkers;
    final boolean info;
    final int headerFragment;

    FakeBuildkitd(List<String> platforms, Path log, boolean failListWorkers, boolean info, int headerFragment) {
        this.platforms = platforms;
        this.log = log;
        this.failListWorkers = failListWorkers;
        this.info = info;
        this.headerFragment = headerFragment;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        if (options.containsKey("--version")) {
            System.out.println("buildkitd github.com/moby/buildkit " + VERSION + " fake");
            return;
        }
        List<String> addrs = addresses(args);
        if (addrs.isEmpty()) {
            throw usage("--addr is required");
        }
        if (options.containsKey("--config") && !Files.isReadable(Path.of(options.get("--config")))) {
            throw usage("failed to load config from " + options.get("--config") + ": no such file");
        }
        FakeBuildkitd fake = new FakeBuildkitd(
            List.of(options.getOrDefault("--platforms", "linux/" + goArch()).split(",")),
            options.containsKey("--log") ? Path.of(options.get("--log")) : null,
            options.containsKey("--fail-list-workers"),
            !options.containsKey("--no-info"),
            Integer.parseInt(options.getOrDefault("--header-fragment", "16384")));
        List<Listener> listeners = new ArrayList<>();
        for (String addr : addrs) {
            listeners.add(addr.startsWith("unix://")
                ? Listener.unix(Path.of(addr.substring("unix://".length())), delay(options))
                : Listener.tcp(addr, delay(options), tlsServer(options)));
        }
        for (Listener listener : listeners) {
            System.err.println("fake buildkitd listening on " + listener.address());
            Thread thread = new Thread(() -> fake.serveQuietly(listener), "fake-buildkitd-accept");
            thread.start();
        }
    }

    /** The TLS server socket the options ask for: a PKCS#12 keystore, or buildkitd's PEM flags; else null. */
    static ServerSocket tlsServer(Map<String, String> options) throws Exception {
        if (options.containsKey("--tlscert")) {
            return Listener.pemServer(Path.of(options.get("--tlscacert")), Path.of(options.get("--tlscert")),
                Path.of(options.get("--tlskey")));
        }
        if (options.containsKey("--tls-keystore")) {
            return Listener.tlsServer(Path.of(options.get("--tls-keystore")),
                options.getOrDefault("--tls-password", "changeit"));
        }
        return null;
    }

    /** Every --addr, as buildkitd takes the flag more than once to listen on several addresses. */
    static List<String> addresses(String[] args) {
        List<String> addrs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--addr=")) {
                addrs.add(args[i].substring("--addr=".length()));
            } else if (args[i].equals("--addr") && i + 1 < args.length) {
                addrs.add(args[++i]);
            }
        }
        return addrs;
    }

    void serveQuietly(Listener listener) {
        try {
            serve(listener);
        } catch (IOException e) {
            System.err.println("fake buildkitd: " + listener.address() + ": " + e.getMessage());
        }
    }

    static long delay(Map<String, String> options) {
        return Long.parseLong(options.getOrDefault("--delay-ms", "0"));
    }

    static Map<String, String> parse(String[] args) {
        List<String> flags = List.of("--version", "--fail-list-workers", "--no-info");
        // --root, --config and the worker switches are buildkitd's own flags, taken and ignored (a --config file
        // must exist, as buildkitd requires), so that the local driver can run this double in buildkitd's place.
        List<String> valued = List.of("--addr", "--delay-ms", "--platforms", "--log", "--header-fragment",
            "--tls-keystore", "--tls-password", "--root", "--oci-worker", "--containerd-worker",
            "--tlscacert", "--tlscert", "--tlskey", "--config");
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            if (flags.contains(kv[0]) && kv.length == 1) {
                options.put(kv[0], "");
            } else if (valued.contains(kv[0])) {
                if (kv.length == 1 && i + 1 >= args.length) {
                    throw usage(kv[0] + " needs a value");
                }
                options.put(kv[0], kv.length == 2 ? kv[1] : args[++i]);
            } else {
                throw usage("unknown option " + args[i]);
            }
        }
        return options;
    }

    static IllegalArgumentException usage(String problem) {
        return new IllegalArgumentException(problem + "; usage: java FakeBuildkitd.java"
            + " --addr unix:///PATH|tcp://HOST:PORT"
            + " [--delay-ms N] [--platforms os/arch,...] [--log FILE] [--fail-list-workers] [--no-info]"
            + " [--header-fragment N]"
            + " [--tls-keystore FILE.p12 [--tls-password P]] [--version]");
    }

    /** Maps Java's os.arch to Go's GOARCH, as buildkitd reports platforms. */
    static String goArch() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "x86_64": case "amd64": return "amd64";
            case "aarch64": case "arm64": return "arm64";
            case "x86": case "i386": case "i486": case "i586": case "i686": return "386";
            default: return arch;
        }
    }

    void serve(Listener listener) throws IOException {
        while (true) {
            Conn conn = listener.accept();
            Thread thread = new Thread(() -> new Connection(this, conn).run(), "fake-buildkitd-conn");
            thread.setDaemon(true);
            thread.start();
        }
    }

    synchronized void log(String line) {
        if (log == null) {
            return;
        }
        try {
            Files.writeString(log, Instant.now() + " " + line + "\n", UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println("fake buildkitd: cannot write log " + log + ": " + e.getMessage());
        }
    }

    /** The message answering a unary method, or null for UNIMPLEMENTED. */
    byte[] unaryResponse(String path) {
        if (path.equals(LIST_WORKERS)) {
            return listWorkersResponse();
        }
        return path.equals(INFO) && info ? infoResponse() : null;
    }

    /** ListWorkersResponse { repeated WorkerRecord record = 1 }, shaped like a real daemon's answer. */
    byte[] listWorkersResponse() {
        Proto worker = new Proto().string(1, "fake")
            .message(2, new Proto().string(1, "org.mobyproject.buildkit.worker.executor").string(2, "fake"));
        for (String platform : platforms) {
            String[] parts = platform.trim().split("/");
            Proto p = new Proto().string(1, parts.length > 1 ? parts[1] : "").string(2, parts[0]);
            worker.message(3, parts.length > 2 ? p.string(3, parts[2]) : p);
        }
        // GCPolicy and BuildkitVersion as a real daemon sends them, so clients must skip fields they don't use.
        worker.message(4, new Proto().varint(1, 1).varint(2, 172_800_000_000_000L).string(4, "type==source.local"));
        worker.message(5, buildkitVersion());
        return new Proto().message(1, worker).bytes();
    }

    /** InfoResponse { BuildkitVersion buildkitVersion = 1 }: buildx takes a node's version from Info, not workers. */
    byte[] infoResponse() {
        return new Proto().message(1, buildkitVersion()).bytes();
    }

    /** BuildkitVersion { package = 1, version = 2, revision = 3 } (api/types/worker.proto). */
    static Proto buildkitVersion() {
        return new Proto().string(1, "github.com/moby/buildkit").string(2, VERSION).string(3, "fake");
    }

    /** A minimal protobuf writer. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            writeVarint(field << 3);
            writeVarint(value);
            return this;
        }

        Proto string(int field, String value) {
            return bytes(field, value.getBytes(UTF_8));
        }

        Proto message(int field, Proto message) {
            return bytes(field, message.bytes());
        }

        Proto bytes(int field, byte[] value) {
            writeVarint(field << 3 | 2);
            writeVarint(value.length);
            out.writeBytes(value);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        private void writeVarint(long v) {
            for (; (v & ~0x7fL) != 0; v >>>= 7) {
                out.write((int) (v & 0x7f | 0x80));
            }
            out.write((int) v);
        }
    }

    /** An accepted connection, whatever the transport. */
    record Conn(InputStream in, OutputStream out, Closeable closer) { }

    /** A listening socket: unix (via channels) or TCP, optionally TLS. */
    interface Listener {
        Conn accept() throws IOException;

        String address();

        static Listener unix(Path socket, long delayMs) throws IOException, InterruptedException {
            Path parent = socket.toAbsolutePath().getParent();
            if (!Files.isDirectory(parent)) {
                Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            }
            removeStale(socket);
            Thread.sleep(delayMs);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    server.close();
                    Files.deleteIfExists(socket);
                } catch (IOException e) {
                    // exiting anyway
                }
            }));
            return new Listener() {
                public Conn accept() throws IOException {
                    SocketChannel ch = server.accept();
                    return new Conn(Channels.newInputStream(ch), Channels.newOutputStream(ch), ch);
                }

                public String address() {
                    return "unix://" + socket;
                }
            };
        }

        static void removeStale(Path socket) throws IOException {
            if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                throw new IOException("refusing to replace " + socket + ": it is not a socket");
            }
            Files.delete(socket);
        }

        static Listener tcp(String addr, long delayMs, ServerSocket tls) throws Exception {
            String hostPort = addr.replaceFirst("^tcp://", "");
            int colon = hostPort.lastIndexOf(':');
            String host = hostPort.substring(0, colon).replaceAll("^\\[|\\]$", "");
            int port = Integer.parseInt(hostPort.substring(colon + 1));
            Thread.sleep(delayMs);
            ServerSocket server = tls == null ? new ServerSocket() : tls;
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(host, port), 128);
            String bound = "tcp://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.getLocalPort();
            return new Listener() {
                public Conn accept() throws IOException {
                    Socket s = server.accept();
                    s.setTcpNoDelay(true);
                    return new Conn(s.getInputStream(), s.getOutputStream(), s);
                }

                public String address() {
                    return bound;
                }
            };
        }

        /** buildkitd's own TLS flags: PEM files, and clients must show a certificate the CA signed. */
        static ServerSocket pemServer(Path ca, Path cert, Path key) throws Exception {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            Certificate authority;
            Certificate chain;
            try (InputStream in = Files.newInputStream(ca); InputStream own = Files.newInputStream(cert)) {
                authority = x509.generateCertificate(in);
                chain = x509.generateCertificate(own);
            }
            String base64 = Files.readString(key).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64));
            PrivateKey privateKey = KeyFactory.getInstance(chain.getPublicKey().getAlgorithm()).generatePrivate(spec);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, new char[0]);
            ks.setKeyEntry("server", privateKey, new char[0], new Certificate[] {chain});
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, new char[0]);
            trust.setCertificateEntry("ca", authority);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            SSLServerSocket server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
            SSLParameters params = server.getSSLParameters();
            params.setApplicationProtocols(new String[] {"h2"});
            params.setNeedClientAuth(true);
            server.setSSLParameters(params);
            return server;
        }

        static ServerSocket tlsServer(Path keystore, String password) throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                ks.load(in, password.toCharArray());
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password.toCharArray());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            SSLServerSocket server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
            SSLParameters params = server.getSSLParameters();
            params.setApplicationProtocols(new String[] {"h2"});
            server.setSSLParameters(params);
            return server;
        }
    }

    /** One HTTP/2 connection; requests are answered in order on the reading thread. */
    static final class Connection {
        static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(ISO_8859_1);
        static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7;
        static final int WINDOW_UPDATE = 8, CONTINUATION = 9;
        static final int END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY = 0x20;
        static final int MAX_FRAME = 16_384;

        final FakeBuildkitd fake;
        final Conn conn;
        final DataInputStream in;
        final OutputStream out;
        final Hpack decoder = new Hpack();
        final Hpack encoder = new Hpack();
        final Map<Integer, Stream> streams = new HashMap<>();
        boolean pinged;

        static final class Stream {
            final Map<String, String> headers = new HashMap<>();
            final ByteArrayOutputStream body = new ByteArrayOutputStream();
        }

        Connection(FakeBuildkitd fake, Conn conn) {
            this.fake = fake;
            this.conn = conn;
            this.in = new DataInputStream(new BufferedInputStream(conn.in()));
            this.out = new BufferedOutputStream(conn.out());
        }

        void run() {
            Closeable closer = conn.closer();
            try (closer) {
                if (!Arrays.equals(in.readNBytes(PREFACE.length), PREFACE)) {
                    return; // not an HTTP/2 client
                }
                // Server preface: SETTINGS (MAX_CONCURRENT_STREAMS=1000), then a wider window as grpc-go does.
                frame(SETTINGS, 0, 0, new byte[] {0, 3, 0, 0, 0x03, (byte) 0xe8});
                frame(WINDOW_UPDATE, 0, 0, u32((1 << 20) - 65_535));
                out.flush();
                while (handle(readFrame())) {
                    out.flush();
                }
                out.flush();
            } catch (EOFException e) {
                // the client hung up
            } catch (IOException | RuntimeException e) {
                // a broken or misbehaving client only loses its own connection
            }
        }

        int[] head = new int[4];

        byte[] readFrame() throws IOException {
            int length = in.readUnsignedByte() << 16 | in.readUnsignedShort();
            head[0] = in.readUnsignedByte();
            head[1] = in.readUnsignedByte();
            head[2] = in.readInt() & 0x7fff_ffff;
            if (length > MAX_FRAME) {
                frame(GOAWAY, 0, 0, concat(u32(0), u32(6))); // FRAME_SIZE_ERROR
                throw new IOException("frame too large");
            }
            byte[] payload = new byte[length];
            in.readFully(payload);
            return payload;
        }

        boolean handle(byte[] payload) throws IOException {
            int type = head[0];
            int flags = head[1];
            int stream = head[2];
            switch (type) {
                case DATA:
                    onData(stream, flags, payload);
                    return true;
                case HEADERS:
                    onHeaders(stream, flags, payload);
                    return true;
                case RST_STREAM:
                    streams.remove(stream);
                    return true;
                case SETTINGS:
                    onSettings(flags, payload);
                    return true;
                case PING:
                    if ((flags & ACK) == 0) {
                        frame(PING, ACK, 0, payload);
                    }
                    return true;
                case GOAWAY:
                    return false;
                default:
                    return true; // WINDOW_UPDATE, PRIORITY, unknown: our answers are far below any window
            }
        }

        void onSettings(int flags, byte[] p) throws IOException {
            if ((flags & ACK) != 0) {
                return;
            }
            for (int i = 0; i + 6 <= p.length; i += 6) {
                int id = (p[i] & 0xff) << 8 | p[i + 1] & 0xff;
                if (id == 1) { // SETTINGS_HEADER_TABLE_SIZE limits our encoder's table
                    encoder.limitEncoderTable(readInt(p, i + 2));
                }
            }
            frame(SETTINGS, ACK, 0, new byte[0]);
        }

        void onHeaders(int stream, int flags, byte[] payload) throws IOException {
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            block.writeBytes(unpad(flags, payload, (flags & PRIORITY) != 0 ? 5 : 0));
            while ((flags & END_HEADERS) == 0) {
                byte[] next = readFrame();
                if (head[0] != CONTINUATION || head[2] != stream) {
                    throw new IOException("expected CONTINUATION");
                }
                block.writeBytes(next);
                flags = flags & ~END_HEADERS | head[1] & END_HEADERS;
            }
            Stream s = streams.computeIfAbsent(stream, k -> new Stream());
            for (String[] field : decoder.decode(block.toByteArray())) {
                s.headers.put(field[0], field[1]);
            }
            if ((flags & END_STREAM) != 0) {
                respond(stream);
            }
        }

        void onData(int stream, int flags, byte[] payload) throws IOException {
            byte[] body = unpad(flags, payload, 0);
            if (payload.length > 0) {
                // Give the connection window back, and ping once like grpc-go's BDP estimator does.
                frame(WINDOW_UPDATE, 0, 0, u32(payload.length));
                if (!pinged) {
                    pinged = true;
                    frame(PING, 0, 0, new byte[] {'b', 'd', 'p', 'p', 'i', 'n', 'g', '!'});
                }
            }
            Stream s = streams.get(stream);
            if (s != null) {
                s.body.writeBytes(body);
                if ((flags & END_STREAM) != 0) {
                    respond(stream);
                }
            }
        }

        void respond(int stream) throws IOException {
            Stream s = streams.remove(stream);
            String method = s.headers.getOrDefault(":method", "");
            String path = s.headers.getOrDefault(":path", "");
            fake.log(method + " " + path);
            if (!method.equals("POST") || !s.headers.getOrDefault("content-type", "").startsWith("application/grpc")) {
                headers(stream, true, ":status", "415", "content-type", "text/plain");
            } else if (path.equals(LIST_WORKERS) && fake.failListWorkers) {
                trailersOnly(stream, 14, FAILURE_MESSAGE);
            } else {
                answer(stream, path, fake.unaryResponse(path));
            }
        }

        /** One length-prefixed, uncompressed message between headers and OK trailers; no message is UNIMPLEMENTED. */
        void answer(int stream, String path, byte[] message) throws IOException {
            if (message == null) {
                trailersOnly(stream, 12, unimplemented(path));
                return;
            }
            headers(stream, false, ":status", "200", "content-type", "application/grpc");
            frame(DATA, 0, stream, concat(new byte[] {0}, concat(u32(message.length), message)));
            headers(stream, true, "grpc-status", "0", "grpc-message", "");
        }

        /** The messages grpc-go gives for unknown services and methods. */
        static String unimplemented(String path) {
            String[] parts = path.replaceFirst("^/", "").split("/", 2);
            if (!parts[0].equals(SERVICE) || parts.length < 2) {
                return "unknown service " + parts[0];
            }
            return "unknown method " + parts[1] + " for service " + SERVICE;
        }

        void trailersOnly(int stream, int code, String message) throws IOException {
            headers(stream, true, ":status", "200", "content-type", "application/grpc",
                "grpc-status", Integer.toString(code), "grpc-message", percentEncode(message));
        }

        /** grpc-message is percent-encoded UTF-8: everything outside printable ASCII, and '%' itself. */
        static String percentEncode(String message) {
            StringBuilder sb = new StringBuilder();
            for (byte b : message.getBytes(UTF_8)) {
                int c = b & 0xff;
                sb.append(c >= 0x20 && c < 0x7f && c != '%' ? String.valueOf((char) c) : String.format("%%%02X", c));
            }
            return sb.toString();
        }

        void headers(int stream, boolean endStream, String... fields) throws IOException {
            byte[] block = encoder.encode(fields);
            int size = Math.max(1, Math.min(fake.headerFragment, MAX_FRAME));
            int end = Math.min(size, block.length);
            int flags = (endStream ? END_STREAM : 0) | (end == block.length ? END_HEADERS : 0);
            frame(HEADERS, flags, stream, Arrays.copyOfRange(block, 0, end));
            for (int off = end; off < block.length; off = end) {
                end = Math.min(off + size, block.length);
                int last = end == block.length ? END_HEADERS : 0;
                frame(CONTINUATION, last, stream, Arrays.copyOfRange(block, off, end));
            }
        }

        void frame(int type, int flags, int stream, byte[] payload) throws IOException {
            out.write(new byte[] {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8),
                (byte) payload.length, (byte) type, (byte) flags});
            out.write(u32(stream));
            out.write(payload);
        }

        static byte[] unpad(int flags, byte[] p, int skip) throws IOException {
            int start = skip;
            int end = p.length;
            if ((flags & PADDED) != 0) {
                start = skip + 1;
                end = p.length - (p.length > 0 ? p[0] & 0xff : 0);
            }
            if (start > end) {
                throw new IOException("bad padding");
            }
            return Arrays.copyOfRange(p, start, end);
        }

        static byte[] u32(int v) {
            return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        }

        static int readInt(byte[] b, int off) {
            return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | b[off + 3] & 0xff;
        }

        static byte[] concat(byte[] a, byte[] b) {
            byte[] c = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return c;
        }
    }

    /**
     * HPACK (RFC 7541) for one direction of a connection: decoding requests, or encoding responses the way Go does
     * (indexed where possible, literals added to the dynamic table, Huffman when shorter).
     */
    static final class Hpack {
        static final String[][] STATIC = {{":authority", ""}, {":method", "GET"}, {":method", "POST"},
            {":path", "/"}, {":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
            {":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"}, {":status", "404"},
            {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
            {"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
            {"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""}, {"content-disposition", ""},
            {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""}, {"content-location", ""},
            {"content-range", ""}, {"content-type", ""}, {"cookie", ""}, {"date", ""}, {"etag", ""}, {"expect", ""},
            {"expires", ""}, {"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
            {"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
            {"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
            {"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""}, {"retry-after", ""},
            {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""}, {"transfer-encoding", ""},
            {"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""}};
        /** Huffman code lengths of symbols 0..255 and EOS, RFC 7541 Appendix B; the code is canonical. */
        static final byte[] LENGTHS = {
            13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
            28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
            6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
            5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
            13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
            7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
            15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
            6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
            20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
            24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
            22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
            21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
            26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
            19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
            20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
            26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
            30};
        static final int[] CODES = new int[LENGTHS.length];
        /** code -> symbol, keyed by length << 32 | code (fine for the few strings a test double sees). */
        static final Map<Long, Integer> SYMBOLS = new HashMap<>();

        static {
            int[] count = new int[32];
            for (byte length : LENGTHS) {
                count[length]++;
            }
            int[] next = new int[32];
            for (int length = 1, code = 0; length <= 30; length++) {
                code = (code + count[length - 1]) << 1;
                next[length] = code;
            }
            for (int symbol = 0; symbol < LENGTHS.length; symbol++) {
                CODES[symbol] = next[LENGTHS[symbol]]++;
                SYMBOLS.put((long) LENGTHS[symbol] << 32 | CODES[symbol], symbol);
            }
        }

        /** The dynamic table, oldest first. */
        final List<String[]> table = new ArrayList<>();
        int size;
        int capacity = 4096;
        int pendingSizeUpdate = -1;
        byte[] in;
        int pos;

        void limitEncoderTable(int peerLimit) {
            int newCapacity = Math.min(peerLimit, 4096);
            if (newCapacity != capacity) {
                capacity = newCapacity;
                evictDownTo(capacity);
                pendingSizeUpdate = newCapacity;
            }
        }

        byte[] encode(String... fields) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (pendingSizeUpdate >= 0) {
                writeInt(out, 0x20, 5, pendingSizeUpdate);
                pendingSizeUpdate = -1;
            }
            for (int i = 0; i < fields.length; i += 2) {
                int exact = find(fields[i], fields[i + 1]);
                if (exact > 0) {
                    writeInt(out, 0x80, 7, exact);
                    continue;
                }
                int name = find(fields[i], null);
                writeInt(out, 0x40, 6, name);
                if (name == 0) {
                    writeString(out, fields[i]);
                }
                writeString(out, fields[i + 1]);
                add(fields[i], fields[i + 1]);
            }
            return out.toByteArray();
        }

        /** The HPACK index of a field (value null: of its name only), or 0. */
        int find(String name, String value) {
            for (int i = 0; i < STATIC.length; i++) {
                if (STATIC[i][0].equals(name) && (value == null || STATIC[i][1].equals(value))) {
                    return i + 1;
                }
            }
            for (int age = 0; age < table.size(); age++) {
                String[] e = table.get(table.size() - 1 - age);
                if (e[0].equals(name) && (value == null || e[1].equals(value))) {
                    return STATIC.length + 1 + age;
                }
            }
            return 0;
        }

        static void writeInt(ByteArrayOutputStream out, int flags, int prefix, int value) {
            int mask = (1 << prefix) - 1;
            if (value < mask) {
                out.write(flags | value);
                return;
            }
            out.write(flags | mask);
            for (value -= mask; value >= 0x80; value >>>= 7) {
                out.write(value & 0x7f | 0x80);
            }
            out.write(value);
        }

        static void writeString(ByteArrayOutputStream out, String s) {
            byte[] raw = s.getBytes(ISO_8859_1);
            long bits = 0;
            for (byte b : raw) {
                bits += LENGTHS[b & 0xff];
            }
            int huffmanLength = (int) ((bits + 7) / 8);
            if (huffmanLength >= raw.length) {
                writeInt(out, 0, 7, raw.length);
                out.writeBytes(raw);
                return;
            }
            writeInt(out, 0x80, 7, huffmanLength);
            long acc = 0;
            int n = 0;
            for (byte b : raw) {
                acc = acc << LENGTHS[b & 0xff] | CODES[b & 0xff];
                for (n += LENGTHS[b & 0xff]; n >= 8; n -= 8) {
                    out.write((int) (acc >>> (n - 8)));
                }
            }
            if (n > 0) { // pad with the most significant bits of EOS, all ones
                out.write((int) (acc << (8 - n) | (0xff >>> n)));
            }
        }

        List<String[]> decode(byte[] block) throws IOException {
            in = block;
            pos = 0;
            List<String[]> fields = new ArrayList<>();
            while (pos < in.length) {
                int b = in[pos] & 0xff;
                if (b >= 0x80) {
                    fields.add(entry(readInt(7)));
                } else if (b >= 0x40) {
                    fields.add(literal(6, true));
                } else if (b >= 0x20) {
                    capacity = readInt(5);
                    evictDownTo(capacity);
                } else {
                    fields.add(literal(4, false));
                }
            }
            return fields;
        }

        String[] literal(int prefix, boolean index) throws IOException {
            int nameIndex = readInt(prefix);
            String name = nameIndex == 0 ? readString() : entry(nameIndex)[0];
            String value = readString();
            if (index) {
                add(name, value);
            }
            return new String[] {name, value};
        }

        String[] entry(int index) throws IOException {
            if (index >= 1 && index <= STATIC.length) {
                return STATIC[index - 1];
            }
            int age = index - STATIC.length - 1;
            if (index == 0 || age >= table.size()) {
                throw new IOException("HPACK index out of range: " + index);
            }
            return table.get(table.size() - 1 - age);
        }

        void add(String name, String value) {
            int entrySize = name.length() + value.length() + 32;
            evictDownTo(capacity - entrySize);
            if (entrySize <= capacity) {
                table.add(new String[] {name, value});
                size += entrySize;
            }
        }

        void evictDownTo(int limit) {
            while (size > limit && !table.isEmpty()) {
                String[] e = table.remove(0);
                size -= e[0].length() + e[1].length() + 32;
            }
        }

        int readInt(int prefix) throws IOException {
            int mask = (1 << prefix) - 1;
            int value = next() & mask;
            if (value < mask) {
                return value;
            }
            for (int shift = 0; shift <= 21; shift += 7) {
                int b = next();
                value += (b & 0x7f) << shift;
                if (b < 0x80) {
                    return value;
                }
            }
            throw new IOException("HPACK integer too large");
        }

        String readString() throws IOException {
            boolean huffman = pos < in.length && (in[pos] & 0x80) != 0;
            int length = readInt(7);
            if (length > in.length - pos) {
                throw new IOException("truncated HPACK string");
            }
            byte[] raw = Arrays.copyOfRange(in, pos, pos + length);
            pos += length;
            return new String(huffman ? huffmanDecode(raw) : raw, ISO_8859_1);
        }

        static byte[] huffmanDecode(byte[] raw) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            long code = 0;
            int length = 0;
            for (byte b : raw) {
                for (int bit = 7; bit >= 0; bit--) {
                    code = code << 1 | (b >> bit) & 1;
                    Integer symbol = SYMBOLS.get((long) ++length << 32 | code);
                    if (symbol != null) {
                        if (symbol == 256) {
                            throw new IOException("EOS in Huffman string");
                        }
                        out.write(symbol);
                        code = 0;
                        length = 0;
                    } else if (length >= 30) {
                        throw new IOException("bad Huffman code");
                    }
                }
            }
            if (length > 7 || code != (1L << length) - 1) {
                throw new IOException("bad Huffman padding");
            }
            return out.toByteArray();
        }

        int next() throws IOException {
            if (pos >= in.length) {
                throw new IOException("truncated HPACK block");
            }
            return in[pos++] & 0xff;
        }
    }
}
