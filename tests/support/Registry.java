package support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** A real distribution registry (Debian's docker-registry) on a loopback port of its own, plain HTTP. */
public final class Registry implements AutoCloseable {
    private final Path dir;
    private final String host;
    private final int port;
    private final Process process;

    private Registry(Path dir, String host, int port, Process process) {
        this.dir = dir;
        this.host = host;
        this.port = port;
        this.process = process;
    }

    /** Starts one, or skips the test with how to install it. */
    public static Registry start() {
        Path binary = Path.of("/usr/bin/docker-registry");
        Assumptions.assumeTrue(Files.isExecutable(binary),
                "docker-registry is not installed: apt-get install docker-registry");
        try {
            Path dir = Files.createTempDirectory("bkm-registry");
            int port = freePort();
            Path config = Files.writeString(dir.resolve("config.yml"), String.join("\n",
                    "version: 0.1",
                    "log: {level: warn}",
                    "storage: {filesystem: {rootdirectory: " + dir.resolve("data") + "}}",
                    "http: {addr: 127.0.0.1:" + port + "}", ""));
            Process process = new ProcessBuilder(binary.toString(), "serve", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("registry.log").toFile())
                    .start();
            Registry registry = new Registry(dir, "127.0.0.1", port, process);
            registry.awaitUp();
            return registry;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts one inside a test host's network namespace, at its address: a registry that is not on loopback, which
     * buildkitd reaches over HTTPS unless told that it is insecure.
     */
    public static Registry startIn(NetnsHost netns) {
        Path binary = Path.of("/usr/bin/docker-registry");
        Assumptions.assumeTrue(Files.isExecutable(binary),
                "docker-registry is not installed: apt-get install docker-registry");
        int port = 5000;
        Path config = netns.guestFile("registry.yml", String.join("\n",
                "version: 0.1",
                "log: {level: warn}",
                "storage: {filesystem: {rootdirectory: " + netns.guestDir().resolve("registry-data") + "}}",
                "http: {addr: " + netns.address() + ":" + port + "}", ""), false);
        Process process = netns.exec(binary.toString(), "serve", config.toString());
        drain(process.getInputStream());
        drain(process.getErrorStream());
        Registry registry = new Registry(null, netns.address(), port, process);
        registry.awaitUp();
        return registry;
    }

    /** Reads and drops a stream, so that a chatty registry never blocks on a full pipe. */
    private static void drain(java.io.InputStream stream) {
        Thread reader = new Thread(() -> {
            try (stream) {
                stream.transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException ignored) {
                // The registry ended.
            }
        }, "registry-output");
        reader.setDaemon(true);
        reader.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private void awaitUp() {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < end) {
            if (get("/v2/").startsWith("200")) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("docker-registry did not answer on port " + port);
    }

    /** host:port, for image names. */
    public String address() {
        return host + ":" + port;
    }

    /** "STATUS BODY" of a GET, e.g. of /v2/NAME/tags/list. */
    public String get(String path) {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://" + address() + path)).timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() + " " + response.body();
        } catch (IOException e) {
            return "000 " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "000 interrupted";
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (dir != null) {
            TestSshd.deleteTree(dir);
        }
    }
}
