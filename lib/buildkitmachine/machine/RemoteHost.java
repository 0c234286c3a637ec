package buildkitmachine.machine;

import buildkitmachine.MachineException;
import buildkitmachine.ssh.SshTarget;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Linux build host of the user's, reached over SSH. Its host key is checked against known hosts, always: unlike
 * the toolkit's own VM, nobody vouches for it but the user.
 *
 * @param user the login, or null for ssh's default (the config's, else the local user)
 * @param host a host name, an address, or an alias of the user's ssh config
 * @param port the port, or 0 for ssh's default
 * @param identity a private key file, or null for ssh's defaults and agent
 * @param knownHosts a known_hosts file to use instead of the user's, or null
 */
public record RemoteHost(String user, String host, int port, String identity, String knownHosts) {
    private static final Pattern SPEC = Pattern.compile(
            "(?:([A-Za-z0-9._][A-Za-z0-9._-]*)@)?([A-Za-z0-9][A-Za-z0-9.-]*|\\[[0-9A-Fa-f:.]+])(?::(\\d{1,5}))?");

    /** Reads {@code [USER@]HOST[:PORT]}; nothing in it may look like an ssh option or a shell word. */
    public static RemoteHost parse(String spec, Path identity, Path knownHosts) {
        Matcher matcher = SPEC.matcher(spec == null ? "" : spec.strip());
        if (!matcher.matches()) {
            throw MachineException.usage("--host '" + spec
                    + "' is not [USER@]HOST[:PORT]; write e.g. --host builder@build-1.example.com:22");
        }
        String host = matcher.group(2).replace("[", "").replace("]", "");
        int port = matcher.group(3) == null ? 0 : Integer.parseInt(matcher.group(3));
        if (matcher.group(3) != null && (port < 1 || port > 65535)) {
            throw MachineException.usage("--host port " + port + " is out of range 1 to 65535");
        }
        return new RemoteHost(matcher.group(1), host, port, text(identity), text(knownHosts));
    }

    private static String text(Path path) {
        return path == null ? null : path.toAbsolutePath().normalize().toString();
    }

    /** {@code user@host:port} as the user wrote it, for messages. */
    public String display() {
        return (user == null ? "" : user + "@") + host + (port == 0 ? "" : ":" + port);
    }

    /** How the OpenSSH client reaches it, with strict host key checking. */
    public SshTarget target() {
        List<String> options = new ArrayList<>(List.of("-o", "StrictHostKeyChecking=yes"));
        if (port != 0) {
            options.addAll(List.of("-p", Integer.toString(port)));
        }
        if (identity != null) {
            options.addAll(List.of("-i", identity, "-o", "IdentitiesOnly=yes"));
        }
        if (knownHosts != null) {
            // Quoted: ssh splits option values at spaces.
            options.addAll(List.of("-o", "UserKnownHostsFile=\"" + knownHosts + "\""));
        }
        return new SshTarget(options, (user == null ? "" : user + "@") + host);
    }
}
