package buildkitmachine.tls;

import buildkitmachine.Log;
import buildkitmachine.MachineException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;

/**
 * The TLS side of a forwarded TCP endpoint: it accepts only clients whose certificate the machine's CA signed, and
 * passes their bytes to the ssh forward's socket in the machine's folder. Plain bytes never leave this host's
 * loopback or the ssh connection, so the daemon in the guest needs no certificates of its own.
 */
public final class TlsProxy implements AutoCloseable {
    private static final int BUFFER = 64 * 1024;

    private final SSLServerSocket server;
    private final Path backend;
    private final Log log;
    private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();

    private TlsProxy(SSLServerSocket server, Path backend, Log log) {
        this.server = server;
        this.backend = backend;
        this.log = log;
    }

    /** Listens on host:port with mutual TLS and starts accepting. */
    public static TlsProxy open(String host, int port, TlsFiles files, Path backend, Log log) {
        try {
            SSLServerSocket server = (SSLServerSocket) files.serverContext().getServerSocketFactory()
                    .createServerSocket();
            SSLParameters parameters = server.getSSLParameters();
            parameters.setNeedClientAuth(true);
            // gRPC clients insist on HTTP/2 by ALPN.
            parameters.setApplicationProtocols(new String[] {"h2"});
            server.setSSLParameters(parameters);
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(host, port));
            TlsProxy proxy = new TlsProxy(server, backend, log);
            Thread acceptor = new Thread(proxy::accept, "tls-accept-" + port);
            acceptor.setDaemon(true);
            acceptor.start();
            return proxy;
        } catch (IOException e) {
            throw MachineException.state("cannot listen with TLS on " + host + ":" + port + ": " + e.getMessage());
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread thread = new Thread(() -> serve(client), "tls-connection");
                thread.setDaemon(true);
                thread.start();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    log.warn("TLS endpoint: " + e.getMessage());
                }
            }
        }
    }

    private void serve(Socket client) {
        open.add(client);
        try (client; SocketChannel daemon = SocketChannel.open(UnixDomainSocketAddress.of(backend))) {
            open.add(daemon);
            client.setTcpNoDelay(true);
            Thread upstream = start(() -> toDaemon(client.getInputStream(), daemon), daemon);
            start(() -> toClient(daemon, client.getOutputStream()), client).join();
            upstream.join();
        } catch (IOException e) {
            log.debug("TLS connection ended: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(client);
        }
    }

    /**
     * Reads and writes the daemon's channel directly: the streams of {@code Channels} share one lock between both
     * directions, so a read waiting for the daemon would hold up the write it is waiting for.
     */
    private static void toDaemon(InputStream from, SocketChannel to) throws IOException {
        byte[] buffer = new byte[BUFFER];
        for (int n; (n = from.read(buffer)) >= 0; ) {
            ByteBuffer bytes = ByteBuffer.wrap(buffer, 0, n);
            while (bytes.hasRemaining()) {
                to.write(bytes);
            }
        }
    }

    private static void toClient(SocketChannel from, OutputStream to) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        while (from.read(buffer) >= 0) {
            to.write(buffer.array(), 0, buffer.position());
            to.flush();
            buffer.clear();
        }
    }

    private interface Copy {
        void run() throws IOException;
    }

    /** Copies until the source ends, then closes the target, which ends the other direction too. */
    private static Thread start(Copy copy, AutoCloseable target) {
        Thread thread = new Thread(() -> {
            try {
                copy.run();
            } catch (IOException ended) {
                // Either side went away; closing the target below ends the other direction.
            } finally {
                try {
                    target.close();
                } catch (Exception ignored) {
                    // Already closed.
                }
            }
        }, "tls-pump");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
        for (AutoCloseable connection : open) {
            try {
                connection.close();
            } catch (Exception ignored) {
                // Closing anyway.
            }
        }
    }
}
