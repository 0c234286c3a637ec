package fast;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.buildkit.DaemonProbe.Failure;
import buildkitmachine.buildkit.DaemonProbe.HpackDecoder;
import buildkitmachine.buildkit.DaemonProbe.ProbeException;
import buildkitmachine.buildkit.Worker;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DaemonProbe against FakeBuildkitd and against in-process stub servers.
 *
 * <p>FakeBuildkitd is tests/doubles/FakeBuildkitd.java under the system property {@code bkm.repo} (default: the
 * working directory). It lives in the default package, so it runs as a subprocess; we compile it once per run
 * instead of using {@code java FakeBuildkitd.java} for each start, which would cost ~2s of compiling every time.
 */
@Timeout(120)
class DaemonProbeTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Map<String, String> FAKE_LABELS = Map.of("org.mobyproject.buildkit.worker.executor", "fake");

    @TempDir
    Path tmp;

    @TempDir
    static Path fakeClasses;

    @Test
    void listsWorkersOverUnixSocket() throws Exception {
        Path socket = tmp.resolve("run/buildkitd.sock");
        Path log = tmp.resolve("fake.log");
        try (Fake fake = Fake.start("--addr", "unix://" + socket, "--platforms", "linux/amd64,linux/arm/v7",
                "--log", log.toString())) {
            List<Worker> workers = DaemonProbe.unix(socket).listWorkers(TIMEOUT);

            assertThat(fake.address()).isEqualTo("unix://" + socket);
            assertThat(workers).containsExactly(
                new Worker("fake", List.of("linux/amd64", "linux/arm/v7"), FAKE_LABELS));
            assertThat(Files.readString(log)).contains("POST /moby.buildkit.v1.Control/ListWorkers");
        }
        assertThat(socket).as("the fake removes its socket when terminated").doesNotExist();
    }

    @Test
    void listsWorkersOverTcpWithHeadersSplitIntoContinuations() throws Exception {
        try (Fake fake = Fake.start("--addr", "tcp://127.0.0.1:0", "--header-fragment", "3")) {
            List<Worker> workers = DaemonProbe.tcp("127.0.0.1", fake.port()).listWorkers(TIMEOUT);

            assertThat(workers).singleElement().satisfies(w -> {
                assertThat(w.id()).isEqualTo("fake");
                assertThat(w.platforms()).singleElement().asString().matches("linux/[a-z0-9]+");
                assertThat(w.labels()).isEqualTo(FAKE_LABELS);
            });
        }
    }

    @Test
    void manyConcurrentProbesAllSucceed() throws Exception {
        Path socket = tmp.resolve("buildkitd.sock");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try (Fake fake = Fake.start("--addr", "unix://" + socket)) {
            List<Future<List<Worker>>> calls = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                calls.add(pool.submit(() -> DaemonProbe.unix(socket).listWorkers(TIMEOUT)));
            }
            for (Future<List<Worker>> call : calls) {
                assertThat(call.get(30, TimeUnit.SECONDS)).extracting(Worker::id).containsExactly("fake");
            }
            assertThat(fake.process.isAlive()).isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void grpcErrorNamesStatusAndMessage() throws Exception {
        Path socket = tmp.resolve("buildkitd.sock");
        try (Fake fake = Fake.start("--addr", "unix://" + socket, "--fail-list-workers", "--header-fragment", "5")) {
            assertFailure(DaemonProbe.unix(socket), TIMEOUT, Failure.GRPC_STATUS,
                "gRPC status 14 (UNAVAILABLE): fake buildkitd: ListWorkers failing on purpose (100% as asked)");
            assertThat(fake.process.isAlive()).isTrue();
        }
    }

    @Test
    void slowDaemonHasNoSocketFirstAndAnswersLater() throws Exception {
        Path socket = tmp.resolve("buildkitd.sock");
        try (Fake fake = Fake.launch("--addr", "unix://" + socket, "--delay-ms", "1500")) {
            DaemonProbe probe = DaemonProbe.unix(socket);
            assertFailure(probe, TIMEOUT, Failure.NO_SOCKET, "no socket at " + socket);

            assertThat(pollUntilReady(probe, Duration.ofSeconds(60))).extracting(Worker::id).containsExactly("fake");
            assertThat(fake.address()).isEqualTo("unix://" + socket);
        }
    }

    @Test
    void missingSocketSaysSo() {
        Path socket = tmp.resolve("missing.sock");

        assertFailure(DaemonProbe.unix(socket), Duration.ofSeconds(2), Failure.NO_SOCKET, "no socket at " + socket);
    }

    @Test
    void socketFileWithoutListenerIsRefused() throws Exception {
        Path socket = tmp.resolve("stale.sock");
        ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket)).close();
        assertThat(socket).exists();

        assertFailure(DaemonProbe.unix(socket), Duration.ofSeconds(2), Failure.REFUSED,
            "connection refused by unix://" + socket);
    }

    @Test
    void tcpPortWithoutListenerIsRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }

        assertFailure(DaemonProbe.tcp("127.0.0.1", port), Duration.ofSeconds(2), Failure.REFUSED,
            "connection refused by tcp://127.0.0.1:" + port);
    }

    @Test
    void serverThatClosesAtOnceClosedBeforePreface() throws Exception {
        try (Stub unix = Stub.unix(tmp.resolve("s.sock"), Stub.Behaviour.CLOSE);
             Stub tcp = Stub.tcp(Stub.Behaviour.CLOSE)) {
            assertFailure(unix.probe(), TIMEOUT, Failure.CLOSED, "connection closed before server preface received");
            assertFailure(tcp.probe(), TIMEOUT, Failure.CLOSED, "connection closed before server preface received");
        }
    }

    @Test
    void silentServerTimesOutWithinTheTimeout() throws Exception {
        try (Stub unix = Stub.unix(tmp.resolve("s.sock"), Stub.Behaviour.SILENT);
             Stub tcp = Stub.tcp(Stub.Behaviour.SILENT)) {
            for (Stub stub : List.of(unix, tcp)) {
                long start = System.nanoTime();
                assertFailure(stub.probe(), Duration.ofMillis(300), Failure.TIMEOUT,
                    "timed out after 300ms waiting for server preface");
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(
                    Duration.ofMillis(290), Duration.ofMillis(1000));
            }
        }
    }

    @Test
    void http1ServerIsNamedAsSuch() throws Exception {
        try (Stub stub = Stub.unix(tmp.resolve("s.sock"), Stub.Behaviour.HTTP1)) {
            assertFailure(stub.probe(), TIMEOUT, Failure.PROTOCOL, "server answered with HTTP/1.x, not HTTP/2");
        }
    }

    @Test
    void goawayAndStreamResetAreNamed() throws Exception {
        try (Stub goaway = Stub.unix(tmp.resolve("g.sock"), Stub.Behaviour.GOAWAY);
             Stub reset = Stub.unix(tmp.resolve("r.sock"), Stub.Behaviour.RESET)) {
            assertFailure(goaway.probe(), TIMEOUT, Failure.CLOSED,
                "server sent GOAWAY (ENHANCE_YOUR_CALM): too_many_pings");
            assertFailure(reset.probe(), TIMEOUT, Failure.CLOSED, "server reset the stream: REFUSED_STREAM");
        }
    }

    @Test
    void listsWorkersOverTlsAndChecksTheServerName() throws Exception {
        Path keystore = tmp.resolve("server.p12");
        run(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair", "-alias", "fake",
            "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "san=dns:localhost",
            "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit");
        SSLContext trusting = trusting(keystore);
        try (Fake fake = Fake.start("--addr", "tcp://127.0.0.1:0", "--tls-keystore", keystore.toString())) {
            DaemonProbe probe = DaemonProbe.tcp("127.0.0.1", fake.port());

            assertThat(probe.tls(trusting, "localhost").listWorkers(TIMEOUT)).extracting(Worker::id)
                .containsExactly("fake");
            assertFailure(probe.tls(trusting, "example.com"), TIMEOUT, Failure.IO, "TLS handshake with");
        }
    }

    // RFC 7541 Appendix C.3: requests without Huffman coding.
    @Test
    void hpackDecodesRfcC3Requests() throws Exception {
        HpackDecoder decoder = new HpackDecoder(4096);
        assertThat(decoder.decode(hex("828684410f7777772e6578616d706c652e636f6d")))
            .containsExactlyElementsOf(fields(":method", "GET", ":scheme", "http", ":path", "/",
                ":authority", "www.example.com"));
        assertThat(decoder.tableSize()).isEqualTo(57);
        assertThat(decoder.decode(hex("828684be58086e6f2d6361636865"))).containsExactlyElementsOf(fields(":method",
            "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"));
        assertThat(decoder.tableSize()).isEqualTo(110);
        assertThat(decoder.decode(hex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")))
            .containsExactlyElementsOf(fields(":method", "GET", ":scheme", "https", ":path", "/index.html",
                ":authority", "www.example.com", "custom-key", "custom-value"));
        assertThat(decoder.tableSize()).isEqualTo(164);
    }

    // RFC 7541 Appendix C.4: the same requests with Huffman coding.
    @Test
    void hpackDecodesRfcC4HuffmanRequests() throws Exception {
        HpackDecoder decoder = new HpackDecoder(4096);
        assertThat(decoder.decode(hex("828684418cf1e3c2e5f23a6ba0ab90f4ff")))
            .containsExactlyElementsOf(fields(":method", "GET", ":scheme", "http", ":path", "/",
                ":authority", "www.example.com"));
        assertThat(decoder.tableSize()).isEqualTo(57);
        assertThat(decoder.decode(hex("828684be5886a8eb10649cbf"))).containsExactlyElementsOf(fields(":method",
            "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"));
        assertThat(decoder.tableSize()).isEqualTo(110);
        assertThat(decoder.decode(hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")))
            .containsExactlyElementsOf(fields(":method", "GET", ":scheme", "https", ":path", "/index.html",
                ":authority", "www.example.com", "custom-key", "custom-value"));
        assertThat(decoder.tableSize()).isEqualTo(164);
    }

    // RFC 7541 Appendix C.6: responses with Huffman coding and a 256-octet table, so entries get evicted.
    @Test
    void hpackDecodesRfcC6HuffmanResponsesWithEviction() throws Exception {
        HpackDecoder decoder = new HpackDecoder(256);
        assertThat(decoder.decode(hex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff"
            + "6e919d29ad171863c78f0b97c8e9ae82ae43d3"))).containsExactlyElementsOf(fields(":status", "302",
                "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT",
                "location", "https://www.example.com"));
        assertThat(decoder.tableSize()).isEqualTo(222);
        assertThat(decoder.decode(hex("4883640effc1c0bf"))).containsExactlyElementsOf(fields(":status", "307",
            "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT",
            "location", "https://www.example.com"));
        assertThat(decoder.tableSize()).isEqualTo(222);
        assertThat(decoder.decode(hex("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad"
            + "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")))
            .containsExactlyElementsOf(fields(":status", "200", "cache-control", "private",
                "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com",
                "content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"));
        assertThat(decoder.tableSize()).isEqualTo(215);
    }

    @Test
    void hpackRejectsBadHuffmanAndTableSizes() throws Exception {
        // Literal without indexing whose Huffman name is: zero padding / 16 bits of padding / EOS.
        for (String block : List.of("008100", "0082ffff", "0084ffffffff")) {
            assertThatThrownBy(() -> new HpackDecoder(4096).decode(hex(block)))
                .isInstanceOf(ProbeException.class).hasMessageStartingWith("bad HPACK header block");
        }
        HpackDecoder decoder = new HpackDecoder(4096);
        decoder.decode(hex("400161016220")); // "a: b" added to the table, then a size update to 0 evicts it
        assertThat(decoder.tableSize()).isZero();
        assertThatThrownBy(() -> decoder.decode(hex("be"))).hasMessageContaining("index 62 out of range");
        assertThatThrownBy(() -> decoder.decode(hex("3fe21f"))).hasMessageContaining("exceeds 4096");
    }

    private static void assertFailure(DaemonProbe probe, Duration timeout, Failure failure, String message) {
        assertThatThrownBy(() -> probe.listWorkers(timeout))
            .isInstanceOfSatisfying(ProbeException.class, e -> assertThat(e.failure()).isEqualTo(failure))
            .hasMessageStartingWith(message)
            .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    /** The loop a caller like `start` runs: probe until it works or time is up. */
    private static List<Worker> pollUntilReady(DaemonProbe probe, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            try {
                return probe.listWorkers(Duration.ofSeconds(2));
            } catch (ProbeException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    private static List<Map.Entry<String, String>> fields(String... kv) {
        List<Map.Entry<String, String>> fields = new ArrayList<>();
        for (int i = 0; i < kv.length; i += 2) {
            fields.add(Map.entry(kv[i], kv[i + 1]));
        }
        return fields;
    }

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.waitFor()).as(output).isZero();
    }

    /** FakeBuildkitd as a subprocess; close() sends SIGTERM like a service manager would. */
    private static final class Fake implements AutoCloseable {
        private static final String READY = "fake buildkitd listening on ";
        private final Process process;
        private final CompletableFuture<String> addressLine = new CompletableFuture<>();

        private Fake(Process process) {
            this.process = process;
            Thread reader = new Thread(this::readStderr, "fake-buildkitd-stderr");
            reader.setDaemon(true);
            reader.start();
        }

        /** Starts the fake and waits until it listens. */
        static Fake start(String... args) throws Exception {
            Fake fake = launch(args);
            try {
                fake.address();
                return fake;
            } catch (Exception e) {
                fake.close();
                throw e;
            }
        }

        /** Starts the fake without waiting for it. */
        static Fake launch(String... args) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", compiled().toString(), "FakeBuildkitd"));
            command.addAll(List.of(args));
            return new Fake(new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
        }

        private static synchronized Path compiled() {
            if (Files.exists(fakeClasses.resolve("FakeBuildkitd.class"))) {
                return fakeClasses;
            }
            Path source = Path.of(System.getProperty("bkm.repo", ".")).resolve("tests/doubles/FakeBuildkitd.java");
            assertThat(source).as("FakeBuildkitd.java (set -Dbkm.repo=REPO or run from the repo root)").exists();
            int status = ToolProvider.getSystemJavaCompiler().run(null, null, null,
                "-d", fakeClasses.toString(), source.toString());
            assertThat(status).as("javac " + source).isZero();
            return fakeClasses;
        }

        /** The address from the fake's "listening" line. */
        String address() throws Exception {
            return addressLine.get(60, TimeUnit.SECONDS);
        }

        int port() throws Exception {
            String addr = address();
            return Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
        }

        private void readStderr() {
            List<String> lines = new ArrayList<>();
            try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), UTF_8))) {
                for (String line; (line = err.readLine()) != null; ) {
                    lines.add(line);
                    if (line.startsWith(READY)) {
                        addressLine.complete(line.substring(READY.length()));
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
            addressLine.completeExceptionally(new IllegalStateException("fake buildkitd exited: " + lines));
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** An in-process server that misbehaves in one way, on a unix socket or loopback TCP. */
    private static final class Stub implements AutoCloseable {
        enum Behaviour { CLOSE, SILENT, HTTP1, GOAWAY, RESET }

        /** Empty SETTINGS, then GOAWAY(last stream 0, ENHANCE_YOUR_CALM, "too_many_pings"). */
        private static final String GOAWAY_FRAMES = "000000040000000000" + "000016070000000000" + "000000000000000b"
            + HexFormat.of().formatHex("too_many_pings".getBytes(US_ASCII));
        /** Empty SETTINGS, then RST_STREAM(stream 1, REFUSED_STREAM). */
        private static final String RESET_FRAMES = "000000040000000000" + "000004030000000001" + "00000007";

        private final ServerSocketChannel server;
        private final DaemonProbe probe;
        private final List<SocketChannel> open = new CopyOnWriteArrayList<>();

        private Stub(ServerSocketChannel server, SocketAddress address, Behaviour behaviour, DaemonProbe probe)
                throws IOException {
            this.server = server.bind(address);
            this.probe = probe != null ? probe
                : DaemonProbe.tcp("127.0.0.1", ((InetSocketAddress) server.getLocalAddress()).getPort());
            Thread acceptor = new Thread(() -> serve(behaviour), "stub-server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        static Stub unix(Path socket, Behaviour behaviour) throws IOException {
            return new Stub(ServerSocketChannel.open(StandardProtocolFamily.UNIX), UnixDomainSocketAddress.of(socket),
                behaviour, DaemonProbe.unix(socket));
        }

        static Stub tcp(Behaviour behaviour) throws IOException {
            return new Stub(ServerSocketChannel.open(StandardProtocolFamily.INET),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), behaviour, null);
        }

        DaemonProbe probe() {
            return probe;
        }

        private void serve(Behaviour behaviour) {
            try {
                while (true) {
                    SocketChannel ch = server.accept();
                    switch (behaviour) {
                        case CLOSE -> ch.close();
                        case SILENT -> open.add(ch);
                        case HTTP1 -> answer(ch, "HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(US_ASCII));
                        case GOAWAY -> answer(ch, hex(GOAWAY_FRAMES));
                        case RESET -> answer(ch, hex(RESET_FRAMES));
                    }
                }
            } catch (IOException e) {
                // closed by the test
            }
        }

        private void answer(SocketChannel ch, byte[] bytes) throws IOException {
            ch.write(ByteBuffer.wrap(bytes));
            open.add(ch);
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (SocketChannel ch : open) {
                ch.close();
            }
        }
    }
}
