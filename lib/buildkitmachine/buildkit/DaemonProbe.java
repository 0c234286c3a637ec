package buildkitmachine.buildkit;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Asks a BuildKit daemon for its workers with one unary gRPC call (Control/ListWorkers). */
// A socket file can exist long before buildkitd answers, so "ready" has to mean a real request succeeded.
// To avoid a gRPC/Netty dependency we speak just enough HTTP/2 by hand: one fresh connection, one stream,
// no threads, everything bounded by the caller's timeout. That keeps a probe cheap enough to poll.
public final class DaemonProbe {

    /** What went wrong, so callers can tell "not up yet" from "up but broken". */
    public enum Failure {
        /** The unix socket file does not exist (yet). */
        NO_SOCKET,
        /** Nothing accepts connections at the address. */
        REFUSED,
        /** The server hung up: closed the connection, reset the stream or sent GOAWAY. */
        CLOSED,
        /** The call did not finish within the timeout. */
        TIMEOUT,
        /** The server answered with something other than the expected HTTP/2 and gRPC. */
        PROTOCOL,
        /** The server answered with a non-zero gRPC status. */
        GRPC_STATUS,
        /** Any other I/O error, for example permission denied or a failed TLS handshake. */
        IO
    }

    /** A failed probe; its message is one line saying what happened. */
    public static final class ProbeException extends IOException {
        private static final long serialVersionUID = 1L;
        private final Failure failure;

        ProbeException(Failure failure, String message) {
            this(failure, message, null);
        }

        ProbeException(Failure failure, String message, Throwable cause) {
            super(message, cause);
            this.failure = failure;
        }

        /** The kind of failure. */
        public Failure failure() {
            return failure;
        }
    }

    private static final String METHOD = "/moby.buildkit.v1.Control/ListWorkers";

    private final Path socket;
    private final String host;
    private final int port;
    private final SSLContext ssl;
    private final String serverName;

    private DaemonProbe(Path socket, String host, int port, SSLContext ssl, String serverName) {
        this.socket = socket;
        this.host = host;
        this.port = port;
        this.ssl = ssl;
        this.serverName = serverName;
    }

    /** A probe for a daemon listening on a unix socket (buildkitd --addr unix://PATH). */
    public static DaemonProbe unix(Path socket) {
        return new DaemonProbe(Objects.requireNonNull(socket, "socket"), null, 0, null, null);
    }

    /** A probe for a daemon listening on plain TCP (buildkitd --addr tcp://HOST:PORT). */
    public static DaemonProbe tcp(String host, int port) {
        return new DaemonProbe(null, Objects.requireNonNull(host, "host"), port, null, null);
    }

    /** This TCP probe over TLS (ALPN "h2"), checking the server certificate against serverName. */
    public DaemonProbe tls(SSLContext context, String serverName) {
        if (socket != null) {
            throw new IllegalStateException("TLS is only supported over TCP");
        }
        return new DaemonProbe(null, host, port, Objects.requireNonNull(context), Objects.requireNonNull(serverName));
    }

    /** Calls ListWorkers once on a fresh connection; throws {@link ProbeException} if that fails within timeout. */
    public List<Worker> listWorkers(Duration timeout) throws IOException {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        Deadline deadline = new Deadline(timeout);
        try (Link link = connect(deadline)) {
            return new Call(link, deadline, authority(), ssl == null ? "http" : "https").run();
        }
    }

    /** The address probed, in buildkitd's --addr syntax. */
    @Override
    public String toString() {
        return socket != null ? "unix://" + socket : "tcp://" + hostForUri() + ":" + port;
    }

    private String hostForUri() {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    private String authority() {
        // grpc-go uses "localhost" for unix targets; the daemon ignores :authority anyway.
        if (socket != null) {
            return "localhost";
        }
        return ssl != null ? serverName : hostForUri() + ":" + port;
    }

    private Link connect(Deadline deadline) throws IOException {
        try {
            return socket != null ? UnixLink.open(socket, deadline) : openTcp(deadline);
        } catch (ProbeException e) {
            throw e;
        } catch (SocketTimeoutException e) {
            throw deadline.expired("connecting to " + this);
        } catch (ConnectException e) {
            throw new ProbeException(Failure.REFUSED, "connection refused by " + this, e);
        } catch (IOException e) {
            // Checked after the fact because errno texts are localized and the file may vanish meanwhile.
            if (socket != null && !Files.exists(socket)) {
                throw new ProbeException(Failure.NO_SOCKET, "no socket at " + socket, e);
            }
            throw new ProbeException(Failure.IO, "cannot connect to " + this + ": " + e.getMessage(), e);
        }
    }

    private Link openTcp(Deadline deadline) throws IOException {
        Socket plain = new Socket();
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), deadline.millisLeft());
            return new TcpLink(ssl == null ? plain : handshake(plain, deadline), deadline);
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    private Socket handshake(Socket plain, Deadline deadline) throws IOException {
        SSLSocket tls = (SSLSocket) ssl.getSocketFactory().createSocket(plain, serverName, port, true);
        SSLParameters params = tls.getSSLParameters();
        params.setApplicationProtocols(new String[] {"h2"});
        params.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(params);
        tls.setSoTimeout(deadline.millisLeft());
        try {
            tls.startHandshake();
        } catch (SSLException e) {
            throw new ProbeException(Failure.IO, "TLS handshake with " + this + " failed: " + e.getMessage(), e);
        }
        return tls;
    }

    /** Bounds the whole call: every blocking step asks how much time is left. */
    private static final class Deadline {
        private final Duration timeout;
        private final long at;

        Deadline(Duration timeout) {
            this.timeout = timeout;
            this.at = System.nanoTime() + timeout.toNanos();
        }

        /** Milliseconds left, at least 1 because 0 means "forever" to sockets and selectors. */
        int millisLeft() throws SocketTimeoutException {
            long nanos = at - System.nanoTime();
            if (nanos <= 0) {
                throw new SocketTimeoutException();
            }
            return (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
        }

        ProbeException expired(String doing) {
            return new ProbeException(Failure.TIMEOUT, "timed out after " + format(timeout) + " " + doing);
        }

        private static String format(Duration d) {
            long ms = d.toMillis();
            if (ms < 1000 || ms % 100 != 0) {
                return ms + "ms";
            }
            return ms % 1000 == 0 ? ms / 1000 + "s" : ms / 1000.0 + "s";
        }
    }

    /** A byte stream that honours the deadline; unix channels and TCP sockets time out differently. */
    private interface Link extends Closeable {
        /** Reads at least one byte or returns -1 at end of stream; throws SocketTimeoutException at the deadline. */
        int read(byte[] b, int off, int len) throws IOException;

        void write(byte[] b) throws IOException;
    }

    /** Unix sockets only exist as channels, which have no read timeout, so we wait with a selector. */
    private static final class UnixLink implements Link {
        private final SocketChannel channel;
        private final Selector selector;
        private final Deadline deadline;

        private UnixLink(SocketChannel channel, Selector selector, Deadline deadline) {
            this.channel = channel;
            this.selector = selector;
            this.deadline = deadline;
        }

        static UnixLink open(Path socket, Deadline deadline) throws IOException {
            UnixLink link = new UnixLink(SocketChannel.open(StandardProtocolFamily.UNIX), Selector.open(), deadline);
            try {
                link.channel.configureBlocking(false);
                // Non-blocking so that even a full listen backlog cannot hold us past the deadline.
                if (!link.channel.connect(UnixDomainSocketAddress.of(socket))) {
                    while (!link.channel.finishConnect()) {
                        link.await(SelectionKey.OP_CONNECT);
                    }
                }
                return link;
            } catch (IOException | RuntimeException e) {
                link.close();
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
            while (true) {
                int n = channel.read(buffer);
                if (n != 0) {
                    return n;
                }
                await(SelectionKey.OP_READ);
            }
        }

        @Override
        public void write(byte[] b) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(b);
            while (buffer.hasRemaining()) {
                if (channel.write(buffer) == 0) {
                    await(SelectionKey.OP_WRITE);
                }
            }
        }

        private void await(int ops) throws IOException {
            channel.register(selector, ops);
            selector.select(deadline.millisLeft());
            selector.selectedKeys().clear();
        }

        @Override
        public void close() throws IOException {
            try (selector) {
                channel.close();
            }
        }
    }

    /** TCP (and TLS) sockets time out reads by themselves, so we only keep the timeout shrinking. */
    private static final class TcpLink implements Link {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final Deadline deadline;

        TcpLink(Socket socket, Deadline deadline) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
            this.deadline = deadline;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            socket.setSoTimeout(deadline.millisLeft());
            return in.read(b, off, len);
        }

        @Override
        public void write(byte[] b) throws IOException {
            out.write(b);
            out.flush();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** One HTTP/2 connection carrying one gRPC call on stream 1 (RFC 9113, gRPC's PROTOCOL-HTTP2.md). */
    private static final class Call {
        private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(US_ASCII);
        private static final int DATA = 0;
        private static final int HEADERS = 1;
        private static final int RST_STREAM = 3;
        private static final int SETTINGS = 4;
        private static final int PUSH_PROMISE = 5;
        private static final int PING = 6;
        private static final int GOAWAY = 7;
        private static final int WINDOW_UPDATE = 8;
        private static final int CONTINUATION = 9;
        private static final int END_STREAM = 0x1;
        private static final int ACK = 0x1;
        private static final int END_HEADERS = 0x4;
        private static final int PADDED = 0x8;
        private static final int PRIORITY = 0x20;
        /** We never raise SETTINGS_MAX_FRAME_SIZE, so anything bigger is garbage (say, a TLS record). */
        private static final int MAX_FRAME = 16_384;
        /** Our receive window: big enough that we never have to send WINDOW_UPDATE in the middle of a call. */
        private static final int WINDOW = 1 << 24;
        private static final String[] H2_ERRORS = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
            "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
        private static final String[] GRPC_CODES = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
            "UNAUTHENTICATED"};

        private record Frame(int type, int flags, int stream, byte[] payload) { }

        private final Link link;
        private final Deadline deadline;
        private final String authority;
        private final String scheme;
        private final HpackDecoder hpack = new HpackDecoder(4096);
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();
        private boolean prefaceSeen;
        private boolean ended;
        private Map<String, String> headers;
        private Map<String, String> trailers;

        Call(Link link, Deadline deadline, String authority, String scheme) {
            this.link = link;
            this.deadline = deadline;
            this.authority = authority;
            this.scheme = scheme;
        }

        List<Worker> run() throws IOException {
            try {
                // The whole request goes out at once: clients need not wait for the server preface.
                link.write(request());
                while (!ended) {
                    handle(readFrame());
                }
            } catch (ProbeException e) {
                throw e;
            } catch (SocketTimeoutException e) {
                throw deadline.expired(prefaceSeen ? "waiting for the response" : "waiting for server preface");
            } catch (IOException e) {
                throw closed(" (" + e.getMessage() + ")", e);
            }
            return result();
        }

        private byte[] request() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(PREFACE);
            // SETTINGS_ENABLE_PUSH=0, SETTINGS_INITIAL_WINDOW_SIZE=WINDOW, then widen the connection window too.
            out.writeBytes(frame(SETTINGS, 0, 0, concat(setting(2, 0), setting(4, WINDOW))));
            out.writeBytes(frame(WINDOW_UPDATE, 0, 0, u32(WINDOW - 65_535)));
            String[] fields = {":method", "POST", ":scheme", scheme, ":path", METHOD, ":authority", authority,
                "content-type", "application/grpc", "te", "trailers"};
            out.writeBytes(frame(HEADERS, END_HEADERS, 1, encodeHeaders(fields)));
            // gRPC message prefix (not compressed, length 0): an empty ListWorkersRequest.
            out.writeBytes(frame(DATA, END_STREAM, 1, new byte[5]));
            return out.toByteArray();
        }

        private Frame readFrame() throws IOException {
            byte[] head = readFully(9);
            if (!prefaceSeen && new String(head, 0, 5, ISO_8859_1).equals("HTTP/")) {
                throw protocol("server answered with HTTP/1.x, not HTTP/2");
            }
            int length = (head[0] & 0xff) << 16 | (head[1] & 0xff) << 8 | head[2] & 0xff;
            int type = head[3] & 0xff;
            if (!prefaceSeen && type != SETTINGS) {
                throw protocol("expected a SETTINGS frame as server preface, got frame type " + type);
            }
            if (length > MAX_FRAME) {
                throw protocol("server sent a " + length + "-byte frame, more than the allowed " + MAX_FRAME);
            }
            return new Frame(type, head[4] & 0xff, readInt(head, 5) & 0x7fff_ffff, readFully(length));
        }

        private byte[] readFully(int length) throws IOException {
            byte[] b = new byte[length];
            for (int off = 0; off < length; ) {
                int n = link.read(b, off, length - off);
                if (n < 0) {
                    throw closed("", null);
                }
                off += n;
            }
            return b;
        }

        private void handle(Frame f) throws IOException {
            switch (f.type) {
                case SETTINGS -> onSettings(f);
                case PING -> onPing(f);
                case HEADERS -> onHeaders(f);
                case DATA -> onData(f);
                case RST_STREAM -> throw new ProbeException(Failure.CLOSED,
                    "server reset the stream: " + errorName(readInt(need(f, 4), 0)));
                case GOAWAY -> onGoaway(f);
                case PUSH_PROMISE -> throw protocol("server sent PUSH_PROMISE although push is disabled");
                case CONTINUATION -> throw protocol("server sent CONTINUATION without HEADERS");
                default -> {
                    // WINDOW_UPDATE, PRIORITY and unknown frame types need no answer from a one-shot client.
                }
            }
        }

        private void onSettings(Frame f) throws IOException {
            if ((f.flags & ACK) == 0) {
                prefaceSeen = true;
                link.write(frame(SETTINGS, ACK, 0, new byte[0]));
            }
        }

        private void onPing(Frame f) throws IOException {
            if ((f.flags & ACK) == 0) {
                link.write(frame(PING, ACK, 0, need(f, 8)));
            }
        }

        private void onHeaders(Frame f) throws IOException {
            // Decode before checking the stream: every block updates the shared HPACK table.
            Map<String, String> fields = toMap(hpack.decode(headerBlock(f)));
            if (f.stream != 1) {
                throw protocol("server sent HEADERS on unexpected stream " + f.stream);
            }
            if (headers == null) {
                headers = fields;
            } else {
                trailers = fields;
            }
            if ((f.flags & END_STREAM) != 0) {
                // A trailers-only response (how gRPC errors usually arrive) has a single header block.
                trailers = fields;
                ended = true;
            }
        }

        /** A header block may continue in CONTINUATION frames, which Go's server uses for large blocks. */
        private byte[] headerBlock(Frame first) throws IOException {
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            block.writeBytes(unpad(first, (first.flags & PRIORITY) != 0 ? 5 : 0));
            for (Frame f = first; (f.flags & END_HEADERS) == 0; ) {
                f = readFrame();
                if (f.type != CONTINUATION || f.stream != first.stream) {
                    throw protocol("expected CONTINUATION of a header block, got frame type " + f.type);
                }
                block.writeBytes(f.payload);
                if (block.size() > WINDOW) {
                    throw protocol("header block larger than " + WINDOW + " bytes");
                }
            }
            return block.toByteArray();
        }

        private void onData(Frame f) throws IOException {
            if (f.stream != 1) {
                throw protocol("server sent DATA on unexpected stream " + f.stream);
            }
            data.writeBytes(unpad(f, 0));
            if (data.size() > WINDOW) {
                throw protocol("response larger than " + WINDOW + " bytes");
            }
            ended = (f.flags & END_STREAM) != 0;
        }

        private void onGoaway(Frame f) throws IOException {
            byte[] p = need(f, 8);
            int lastStream = readInt(p, 0) & 0x7fff_ffff;
            int code = readInt(p, 4);
            if (code == 0 && lastStream >= 1) {
                return; // a graceful shutdown that still lets our stream finish
            }
            String debug = oneLine(new String(p, 8, p.length - 8, UTF_8));
            throw new ProbeException(Failure.CLOSED,
                "server sent GOAWAY (" + errorName(code) + ")" + (debug.isEmpty() ? "" : ": " + debug));
        }

        private List<Worker> result() throws IOException {
            String status = headers.get(":status");
            String grpcStatus = trailers.get("grpc-status");
            if (grpcStatus == null) {
                throw protocol("response (HTTP status " + status + ") has no grpc-status");
            }
            int code = parseStatus(grpcStatus);
            if (code != 0) {
                String name = code < GRPC_CODES.length ? " (" + GRPC_CODES[code] + ")" : "";
                String message = percentDecode(trailers.getOrDefault("grpc-message", ""));
                throw new ProbeException(Failure.GRPC_STATUS, "gRPC status " + code + name + ": " + message);
            }
            if (!"200".equals(status)) {
                throw protocol("HTTP status " + status);
            }
            return Protobuf.workers(firstMessage(data.toByteArray()));
        }

        private static byte[] firstMessage(byte[] body) throws ProbeException {
            if (body.length < 5) {
                throw protocol("gRPC status 0 but no response message");
            }
            if (body[0] != 0) {
                throw protocol("compressed gRPC message although no compression was offered");
            }
            int length = readInt(body, 1);
            if (length < 0 || length > body.length - 5) {
                throw protocol("truncated gRPC message");
            }
            return Arrays.copyOfRange(body, 5, 5 + length);
        }

        private static int parseStatus(String value) throws ProbeException {
            try {
                return Integer.parseInt(value.trim());
            } catch (NumberFormatException e) {
                throw protocol("invalid grpc-status " + value);
            }
        }

        private ProbeException closed(String detail, Throwable cause) {
            String what = prefaceSeen ? "before the response completed" : "before server preface received";
            return new ProbeException(Failure.CLOSED, "connection closed " + what + detail, cause);
        }

        private static ProbeException protocol(String message) {
            return new ProbeException(Failure.PROTOCOL, message);
        }

        private static byte[] need(Frame f, int length) throws ProbeException {
            if (f.payload.length < length) {
                throw protocol("frame type " + f.type + " shorter than " + length + " bytes");
            }
            return f.payload;
        }

        /** Strips padding (and the priority fields of HEADERS) from a frame payload. */
        private static byte[] unpad(Frame f, int skip) throws ProbeException {
            byte[] p = f.payload;
            int start = skip;
            int end = p.length;
            if ((f.flags & PADDED) != 0) {
                start = 1 + skip;
                end = p.length - (p.length > 0 ? p[0] & 0xff : 0);
            }
            if (start > end) {
                throw protocol("frame type " + f.type + " has invalid padding");
            }
            return Arrays.copyOfRange(p, start, end);
        }

        private static String errorName(int code) {
            return code >= 0 && code < H2_ERRORS.length ? H2_ERRORS[code] : "error code " + code;
        }

        private static Map<String, String> toMap(List<Map.Entry<String, String>> fields) {
            Map<String, String> map = new HashMap<>();
            fields.forEach(e -> map.put(e.getKey(), e.getValue()));
            return map;
        }

        /** grpc-message is percent-encoded UTF-8 (gRPC's PROTOCOL-HTTP2.md). */
        private static String percentDecode(String s) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '%' && hex(s, i + 1) >= 0 && hex(s, i + 2) >= 0) {
                    out.write(hex(s, i + 1) << 4 | hex(s, i + 2));
                    i += 2;
                } else {
                    out.write(c); // header values are ISO-8859-1, so each char is one octet
                }
            }
            return oneLine(out.toString(UTF_8));
        }

        private static int hex(String s, int i) {
            return i < s.length() ? Character.digit(s.charAt(i), 16) : -1;
        }

        private static String oneLine(String s) {
            return s.replaceAll("[\\r\\n]+", " ").trim();
        }

        /** Literal header fields without indexing and without Huffman: the simplest valid HPACK. */
        private static byte[] encodeHeaders(String[] fields) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 0; i < fields.length; i += 2) {
                out.write(0);
                encodeString(out, fields[i]);
                encodeString(out, fields[i + 1]);
            }
            return out.toByteArray();
        }

        private static void encodeString(ByteArrayOutputStream out, String s) {
            byte[] b = s.getBytes(ISO_8859_1);
            int n = b.length;
            if (n < 127) {
                out.write(n);
            } else {
                out.write(127);
                for (n -= 127; n >= 128; n >>>= 7) {
                    out.write(n & 0x7f | 0x80);
                }
                out.write(n);
            }
            out.writeBytes(b);
        }

        private static byte[] frame(int type, int flags, int stream, byte[] payload) {
            byte[] f = new byte[9 + payload.length];
            f[0] = (byte) (payload.length >>> 16);
            f[1] = (byte) (payload.length >>> 8);
            f[2] = (byte) payload.length;
            f[3] = (byte) type;
            f[4] = (byte) flags;
            System.arraycopy(u32(stream), 0, f, 5, 4);
            System.arraycopy(payload, 0, f, 9, payload.length);
            return f;
        }

        private static byte[] setting(int id, int value) {
            return new byte[] {(byte) (id >>> 8), (byte) id, (byte) (value >>> 24), (byte) (value >>> 16),
                (byte) (value >>> 8), (byte) value};
        }

        private static byte[] concat(byte[] a, byte[] b) {
            byte[] c = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return c;
        }

        private static byte[] u32(int v) {
            return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        }

        private static int readInt(byte[] b, int off) {
            return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | b[off + 3] & 0xff;
        }
    }

    /** Decodes the protobuf ListWorkersResponse (buildkit api/services/control and api/types/worker.proto). */
    private static final class Protobuf {
        private static final int LEN = 2;
        private final byte[] b;
        private final int end;
        private int pos;

        private Protobuf(byte[] b, int pos, int end) {
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        /** ListWorkersResponse: repeated WorkerRecord record = 1. */
        static List<Worker> workers(byte[] message) throws ProbeException {
            Protobuf p = new Protobuf(message, 0, message.length);
            List<Worker> workers = new ArrayList<>();
            while (p.more()) {
                int tag = p.tag();
                if (tag == (1 << 3 | LEN)) {
                    workers.add(p.message().worker());
                } else {
                    p.skip(tag);
                }
            }
            return List.copyOf(workers);
        }

        /** WorkerRecord: string ID = 1; map Labels = 2; repeated pb.Platform platforms = 3; the rest skipped. */
        private Worker worker() throws ProbeException {
            String id = "";
            List<String> platforms = new ArrayList<>();
            Map<String, String> labels = new LinkedHashMap<>();
            while (more()) {
                int tag = tag();
                switch (tag) {
                    case 1 << 3 | LEN -> id = string();
                    case 2 << 3 | LEN -> message().label(labels);
                    case 3 << 3 | LEN -> platforms.add(message().platform());
                    default -> skip(tag);
                }
            }
            return new Worker(id, platforms, labels);
        }

        /** A map entry: key = 1, value = 2. */
        private void label(Map<String, String> labels) throws ProbeException {
            String[] kv = {"", ""};
            readStrings(kv);
            labels.put(kv[0], kv[1]);
        }

        /** pb.Platform: Architecture = 1, OS = 2, Variant = 3; formatted like containerd's platforms.Format. */
        private String platform() throws ProbeException {
            String[] arch = {"", "", ""};
            readStrings(arch);
            return arch[1] + "/" + arch[0] + (arch[2].isEmpty() ? "" : "/" + arch[2]);
        }

        /** Reads string fields 1..n into into[0..n-1], skipping anything else. */
        private void readStrings(String[] into) throws ProbeException {
            while (more()) {
                int tag = tag();
                int field = tag >>> 3;
                if ((tag & 7) == LEN && field >= 1 && field <= into.length) {
                    into[field - 1] = string();
                } else {
                    skip(tag);
                }
            }
        }

        private boolean more() {
            return pos < end;
        }

        private int tag() throws ProbeException {
            return (int) varint();
        }

        private long varint() throws ProbeException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw malformed();
                }
                byte x = b[pos++];
                value |= (long) (x & 0x7f) << shift;
                if (x >= 0) {
                    return value;
                }
            }
            throw malformed();
        }

        private int length() throws ProbeException {
            long length = varint();
            if (length < 0 || length > end - pos) {
                throw malformed();
            }
            return (int) length;
        }

        private Protobuf message() throws ProbeException {
            int length = length();
            Protobuf sub = new Protobuf(b, pos, pos + length);
            pos += length;
            return sub;
        }

        private String string() throws ProbeException {
            int length = length();
            String s = new String(b, pos, length, UTF_8);
            pos += length;
            return s;
        }

        private void skip(int tag) throws ProbeException {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> advance(8);
                case LEN -> advance(length());
                case 5 -> advance(4);
                default -> throw malformed();
            }
        }

        private void advance(int n) throws ProbeException {
            if (n > end - pos) {
                throw malformed();
            }
            pos += n;
        }

        private static ProbeException malformed() {
            return new ProbeException(Failure.PROTOCOL, "malformed ListWorkersResponse");
        }
    }

    /** HPACK (RFC 7541) header block decoder, good enough for Go's encoder; public so tests can check the RFC. */
    public static final class HpackDecoder {
        private static final List<Map.Entry<String, String>> STATIC = staticTable(":authority", "", ":method",
            "GET", ":method", "POST", ":path", "/", ":path", "/index.html", ":scheme", "http", ":scheme", "https",
            ":status", "200", ":status", "204", ":status", "206", ":status", "304", ":status", "400", ":status", "404",
            ":status", "500", "accept-charset", "", "accept-encoding", "gzip, deflate", "accept-language", "",
            "accept-ranges", "", "accept", "", "access-control-allow-origin", "", "age", "", "allow", "",
            "authorization", "", "cache-control", "", "content-disposition", "", "content-encoding", "",
            "content-language", "", "content-length", "", "content-location", "", "content-range", "",
            "content-type", "", "cookie", "", "date", "", "etag", "", "expect", "", "expires", "", "from", "",
            "host", "", "if-match", "", "if-modified-since", "", "if-none-match", "", "if-range", "",
            "if-unmodified-since", "", "last-modified", "", "link", "", "location", "", "max-forwards", "",
            "proxy-authenticate", "", "proxy-authorization", "", "range", "", "referer", "", "refresh", "",
            "retry-after", "", "server", "", "set-cookie", "", "strict-transport-security", "",
            "transfer-encoding", "", "user-agent", "", "vary", "", "via", "", "www-authenticate", "");

        private final int maxTableSize;
        /** The dynamic table, oldest first, so HPACK index 62 is the last element. */
        private final List<Map.Entry<String, String>> dynamic = new ArrayList<>();
        private int capacity;
        private int size;
        private byte[] in;
        private int pos;

        /** A decoder whose dynamic table may hold maxTableSize octets (HTTP/2's default is 4096). */
        public HpackDecoder(int maxTableSize) {
            this.maxTableSize = maxTableSize;
            this.capacity = maxTableSize;
        }

        /** Decodes one complete header block into its fields, in order, updating the dynamic table. */
        public List<Map.Entry<String, String>> decode(byte[] block) throws ProbeException {
            in = block;
            pos = 0;
            List<Map.Entry<String, String>> fields = new ArrayList<>();
            while (pos < in.length) {
                int b = in[pos] & 0xff;
                if (b >= 0x80) {
                    fields.add(entry(integer(7)));
                } else if (b >= 0x40) {
                    fields.add(literal(6, true));
                } else if (b >= 0x20) {
                    resize(integer(5));
                } else {
                    fields.add(literal(4, false)); // without indexing, or never indexed
                }
            }
            return fields;
        }

        /** The dynamic table's size in octets as RFC 7541 section 4.1 counts it. */
        public int tableSize() {
            return size;
        }

        private Map.Entry<String, String> literal(int prefix, boolean index) throws ProbeException {
            int nameIndex = integer(prefix);
            String name = nameIndex == 0 ? string() : entry(nameIndex).getKey();
            Map.Entry<String, String> field = Map.entry(name, string());
            if (index) {
                add(field);
            }
            return field;
        }

        private Map.Entry<String, String> entry(int index) throws ProbeException {
            if (index >= 1 && index <= STATIC.size()) {
                return STATIC.get(index - 1);
            }
            int age = index - STATIC.size() - 1;
            if (index == 0 || age >= dynamic.size()) {
                throw bad("index " + index + " out of range");
            }
            return dynamic.get(dynamic.size() - 1 - age);
        }

        private void add(Map.Entry<String, String> field) {
            int entrySize = entrySize(field);
            evictDownTo(capacity - entrySize);
            // An entry larger than the whole table just empties it (RFC 7541 section 4.4).
            if (entrySize <= capacity) {
                dynamic.add(field);
                size += entrySize;
            }
        }

        private void resize(int newCapacity) throws ProbeException {
            if (newCapacity > maxTableSize) {
                throw bad("table size update to " + newCapacity + " exceeds " + maxTableSize);
            }
            capacity = newCapacity;
            evictDownTo(capacity);
        }

        private void evictDownTo(int limit) {
            while (size > limit && !dynamic.isEmpty()) {
                size -= entrySize(dynamic.remove(0));
            }
        }

        private static int entrySize(Map.Entry<String, String> field) {
            return field.getKey().length() + field.getValue().length() + 32; // ISO-8859-1: chars are octets
        }

        /** An integer with an N-bit prefix (RFC 7541 section 5.1). */
        private int integer(int prefix) throws ProbeException {
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
            throw bad("integer too large");
        }

        private String string() throws ProbeException {
            boolean huffman = pos < in.length && (in[pos] & 0x80) != 0;
            int length = integer(7);
            if (length > in.length - pos) {
                throw bad("truncated string");
            }
            byte[] raw = Arrays.copyOfRange(in, pos, pos + length);
            pos += length;
            return new String(huffman ? Huffman.decode(raw) : raw, ISO_8859_1);
        }

        private int next() throws ProbeException {
            if (pos >= in.length) {
                throw bad("truncated header block");
            }
            return in[pos++] & 0xff;
        }

        static ProbeException bad(String message) {
            return new ProbeException(Failure.PROTOCOL, "bad HPACK header block: " + message);
        }

        private static List<Map.Entry<String, String>> staticTable(String... pairs) {
            List<Map.Entry<String, String>> table = new ArrayList<>();
            for (int i = 0; i < pairs.length; i += 2) {
                table.add(Map.entry(pairs[i], pairs[i + 1]));
            }
            return List.copyOf(table);
        }
    }

    /**
     * HPACK's static Huffman code (RFC 7541 Appendix B). The code is canonical (codes of one length are consecutive
     * and ordered by symbol), so the code lengths alone define it.
     */
    private static final class Huffman {
        /** Code length in bits of symbols 0..255 and EOS (256), from RFC 7541 Appendix B. */
        private static final byte[] LENGTHS = {
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
        private static final int EOS = 256;
        private static final int MAX_LENGTH = 30;
        /** Per code length: how many codes, the first code, and where its symbols start in SYMBOLS. */
        private static final int[] COUNT = new int[MAX_LENGTH + 1];
        private static final int[] FIRST = new int[MAX_LENGTH + 1];
        private static final int[] OFFSET = new int[MAX_LENGTH + 1];
        private static final int[] SYMBOLS = new int[LENGTHS.length];

        static {
            for (byte length : LENGTHS) {
                COUNT[length]++;
            }
            int code = 0;
            for (int length = 1, index = 0; length <= MAX_LENGTH; index += COUNT[length], length++) {
                code = (code + COUNT[length - 1]) << 1;
                FIRST[length] = code;
                OFFSET[length] = index;
            }
            int[] next = OFFSET.clone();
            for (int symbol = 0; symbol < LENGTHS.length; symbol++) {
                SYMBOLS[next[LENGTHS[symbol]]++] = symbol;
            }
        }

        static byte[] decode(byte[] in) throws ProbeException {
            ByteArrayOutputStream out = new ByteArrayOutputStream(in.length * 8 / 5);
            int code = 0;
            int length = 0;
            for (byte b : in) {
                for (int bit = 7; bit >= 0; bit--) {
                    code = code << 1 | (b >> bit) & 1;
                    length++;
                    int i = code - FIRST[length];
                    if (i >= 0 && i < COUNT[length]) {
                        int symbol = SYMBOLS[OFFSET[length] + i];
                        if (symbol == EOS) {
                            throw HpackDecoder.bad("EOS inside a Huffman string");
                        }
                        out.write(symbol);
                        code = 0;
                        length = 0;
                    } else if (length == MAX_LENGTH) {
                        throw HpackDecoder.bad("invalid Huffman code");
                    }
                }
            }
            // Padding is a prefix of EOS (all ones) and shorter than a byte (RFC 7541 section 5.2).
            if (length > 7 || code != (1 << length) - 1) {
                throw HpackDecoder.bad("invalid Huffman padding");
            }
            return out.toByteArray();
        }
    }
}
