package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.tls.TlsFiles;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/** Where on the host a machine's buildkitd is offered: a unix socket file or a TCP port. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Endpoint.Unix.class, name = "unix"),
    @JsonSubTypes.Type(value = Endpoint.Tcp.class, name = "tcp")
})
public sealed interface Endpoint permits Endpoint.Unix, Endpoint.Tcp {
    /** The address buildctl takes in {@code --addr} or {@code BUILDKIT_HOST}. */
    String buildkitHost();

    /** The {@code ssh -L} specification that carries this endpoint to the guest's socket. */
    String sshForward(String guestSocket);

    /** A probe that asks the daemon behind this endpoint for its workers. */
    DaemonProbe probe();

    /** A unix socket file on the host. */
    record Unix(Path path) implements Endpoint {
        @Override
        public String buildkitHost() {
            return "unix://" + path;
        }

        @Override
        public String sshForward(String guestSocket) {
            return path + ":" + guestSocket;
        }

        @Override
        public DaemonProbe probe() {
            return DaemonProbe.unix(path);
        }
    }

    /**
     * A TCP port on one of the host's addresses.
     *
     * @param tls the folder of the machine's TLS material when the port takes mutual TLS only, else null
     */
    record Tcp(String host, int port, String tls) implements Endpoint {
        /** A plain TCP endpoint. */
        public Tcp(String host, int port) {
            this(host, port, null);
        }

        /** The same port, taking mutual TLS with the material in that folder. */
        public Tcp withTls(Path folder) {
            return new Tcp(host, port, folder.toString());
        }

        /** The TLS material, when the endpoint uses TLS. */
        public Optional<TlsFiles> tlsFiles() {
            return Optional.ofNullable(tls).map(t -> new TlsFiles(Path.of(t)));
        }

        @Override
        public String buildkitHost() {
            return "tcp://" + bracketed(host) + ":" + port;
        }

        /** ssh listening on the port itself: what a plain endpoint falls back to without a {@link #relaySocket}. */
        @Override
        public String sshForward(String guestSocket) {
            return bracketed(host) + ":" + port + ":" + guestSocket;
        }

        /**
         * The socket of the ssh forward behind the keeper's {@link TcpRelay} for this port: in the TLS folder for a
         * TLS endpoint, else in the machine's folder. Empty for a plain endpoint when the path would be longer than
         * the kernel takes; ssh then listens on the port itself.
         */
        public Optional<Path> relaySocket(Path machineFolder) {
            if (tls != null) {
                return Optional.of(Path.of(tls).resolve("proxy-" + port + ".sock"));
            }
            Path socket = machineFolder.resolve("tcp-" + port + ".sock");
            boolean fits = socket.toString().getBytes(StandardCharsets.UTF_8).length <= Host.maxSocketPathBytes();
            return fits ? Optional.of(socket) : Optional.empty();
        }

        @Override
        public DaemonProbe probe() {
            DaemonProbe probe = DaemonProbe.tcp(dialHost(), port);
            return tlsFiles().map(f -> probe.tls(f.clientContext(), TlsFiles.SERVER_NAME)).orElse(probe);
        }

        /** The address to connect to: a wildcard bind is reached through loopback. */
        String dialHost() {
            return switch (host) {
                case "0.0.0.0" -> "127.0.0.1";
                case "::" -> "::1";
                default -> host;
            };
        }

        private static String bracketed(String host) {
            return host.contains(":") ? "[" + host + "]" : host;
        }

        /** Whether only this computer can reach the port. */
        public boolean loopback() {
            try {
                return InetAddress.getByName(host).isLoopbackAddress();
            } catch (UnknownHostException e) {
                return false;
            }
        }
    }

    /** Reads {@code --unix PATH}: made absolute against the working folder, and short enough for the kernel. */
    public static Unix parseUnix(String value, Path workingFolder) {
        if (value.isBlank()) {
            throw MachineException.usage("--unix needs a socket path, e.g. --unix ./buildkitd.sock");
        }
        if (value.indexOf('\0') >= 0 || value.indexOf(':') >= 0 || value.indexOf('\n') >= 0) {
            throw MachineException.usage("--unix path '" + value.strip()
                    + "' contains ':', a newline or NUL, which ssh forwards cannot carry; choose another path");
        }
        Path path = workingFolder.resolve(value).toAbsolutePath().normalize();
        int bytes = path.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Host.maxSocketPathBytes()) {
            throw MachineException.usage("--unix path is " + bytes + " bytes long, but the kernel takes at most "
                    + Host.maxSocketPathBytes()
                    + " for a socket; choose a shorter path, e.g. --unix /tmp/buildkitd.sock");
        }
        return new Unix(path);
    }

    /** Reads {@code --tcp [HOST:]PORT}; the host defaults to 127.0.0.1 so that nobody else can reach the daemon. */
    public static Tcp parseTcp(String value) {
        String host = "127.0.0.1";
        String port = value.strip();
        int colon = port.lastIndexOf(':');
        if (colon >= 0) {
            host = port.substring(0, colon);
            port = port.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (host.isEmpty() || !host.matches("[A-Za-z0-9.:%-]+")) {
                throw MachineException.usage("--tcp '" + value + "' has no valid host before the port; "
                        + "write --tcp PORT or --tcp HOST:PORT, e.g. --tcp 127.0.0.1:9999");
            }
        }
        return new Tcp(host, parsePort(value, port));
    }

    private static int parsePort(String value, String port) {
        int number;
        try {
            number = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw MachineException.usage("--tcp '" + value + "' has no port number; write e.g. --tcp 9999");
        }
        if (number < 1 || number > 65535) {
            throw MachineException.usage("--tcp port " + number + " is out of range; choose one from 1024 to 65535");
        }
        if (number < 1024) {
            throw MachineException.usage("--tcp port " + number
                    + " is privileged and needs root to bind; choose one from 1024 to 65535, e.g. 9999");
        }
        return number;
    }
}
