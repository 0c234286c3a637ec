package buildkitmachine.machine;

import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.tls.TlsFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;

/**
 * The TCP side of a forwarded TCP endpoint, served by the keeper: it accepts connections on the host's port and
 * passes their bytes to a unix socket of the ssh forward in the machine's folder.
 *
 * <p>ssh could listen on the port itself, but OpenSSH turns Nagle's algorithm off only on ports forwarded to a TCP
 * destination, not to a socket like buildkitd's; each small gRPC reply then waits for the client's delayed ACK.
 * With TLS, the relay takes only clients whose certificate the machine's CA signed, so plain bytes never leave this
 * host's loopback or the ssh connection and the daemon in the guest needs no certificates of its own.
 */
public final class TcpRelay implements AutoCloseable {
    private static final int BUFFER = 64 * 1024;

    private final ServerSocket server;
    private final Path backend;
    private final Log log;
    private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();

    private TcpRelay(ServerSocket server, Path backend, Log log) {
        this.server = server;
        this.backend = backend;
        this.log = log;
    }

    /** Listens on host:port, with mutual TLS when {@code tls} is given, and starts accepting. */
    public static TcpRelay open(String host, int port, TlsFiles tls, Path backend, Log log) {
        try {
            // Plain connections come from a channel, so that their bytes go from socket to socket through one
            // buffer outside the heap instead of being copied into it and out again.
            ServerSocket server = tls == null ? ServerSocketChannel.open().socket() : tlsServer(tls);
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(host, port));
            TcpRelay relay = new TcpRelay(server, backend, log);
            Thread acceptor = new Thread(relay::accept, "relay-accept-" + port);
            acceptor.setDaemon(true);
            acceptor.start();
            return relay;
        } catch (IOException e) {
            throw MachineException.state("cannot listen" + (tls == null ? "" : " with TLS") + " on " + host + ":"
                    + port + ": " + e.getMessage());
        }
    }

    private static SSLServerSocket tlsServer(TlsFiles files) throws IOException {
        SSLServerSocket server = (SSLServerSocket) files.serverContext().getServerSocketFactory().createServerSocket();
        SSLParameters parameters = server.getSSLParameters();
        parameters.setNeedClientAuth(true);
        // gRPC clients insist on HTTP/2 by ALPN.
        parameters.setApplicationProtocols(new String[] {"h2"});
        server.setSSLParameters(parameters);
        return server;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread thread = new Thread(() -> serve(client), "relay-connection");
                thread.setDaemon(true);
                thread.start();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    log.warn("TCP endpoint: " + e.getMessage());
                }
            }
        }
    }

    /** Copies the client's bytes to the daemon on a thread of its own, and the daemon's back on this one. */
    private void serve(Socket client) {
        open.add(client);
        try (client; SocketChannel daemon = SocketChannel.open(UnixDomainSocketAddress.of(backend))) {
            open.add(daemon);
            client.setTcpNoDelay(true);
            SocketChannel plain = client.getChannel();
            Thread upstream = start(plain != null ? () -> pump(plain, daemon)
                    : () -> toDaemon(client.getInputStream(), daemon), daemon);
            copyClosing(plain != null ? () -> pump(daemon, plain) : () -> toClient(daemon, client.getOutputStream()),
                    client);
            upstream.join();
        } catch (IOException e) {
            log.debug("TCP connection ended: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(client);
        }
    }

    /** Moves bytes from one channel to the other through a buffer outside the heap. */
    private static void pump(SocketChannel from, SocketChannel to) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        while (from.read(buffer) >= 0) {
            buffer.flip();
            while (buffer.hasRemaining()) {
                to.write(buffer);
            }
            buffer.clear();
        }
    }

    /**
     * With TLS, reads and writes the daemon's channel directly: the streams of {@code Channels} share one lock
     * between both directions, so a read waiting for the daemon would hold up the write it is waiting for.
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

    private static Thread start(Copy copy, AutoCloseable target) {
        Thread thread = new Thread(() -> copyClosing(copy, target), "relay-pump");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** Copies until the source ends, then closes the target, which ends the other direction too. */
    private static void copyClosing(Copy copy, AutoCloseable target) {
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
