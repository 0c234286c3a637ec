package buildkitmachine.ssh;

import buildkitmachine.MachineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A host to reach with the OpenSSH client: the options that say how, then the destination.
 *
 * @param options e.g. {@code -F lima/ssh.config}, or a port, an identity and host key settings
 * @param destination a Host alias of the config, or {@code [user@]host}
 */
public record SshTarget(List<String> options, String destination) {
    public SshTarget {
        options = List.copyOf(options);
    }

    /**
     * The target Lima describes in an instance's ssh.config. The alias is read from the file rather than assumed,
     * because Lima writes it and has changed its details before.
     */
    public static SshTarget fromConfig(Path configFile) {
        List<String> lines;
        try {
            lines = Files.readAllLines(configFile);
        } catch (IOException e) {
            throw MachineException.toolFailed("cannot read " + configFile + " (" + e.getMessage()
                    + "); Lima writes it at every start: try 'buildkit-machine start'");
        }
        return lines.stream()
                .map(String::strip)
                .filter(line -> line.regionMatches(true, 0, "Host ", 0, 5))
                .map(line -> line.substring(5).strip())
                .findFirst()
                .map(alias -> new SshTarget(List.of("-F", configFile.toString()), alias))
                .orElseThrow(() -> MachineException.toolFailed(
                        configFile + " names no Host; it is not a Lima ssh.config"));
    }

    /** The target that {@link #args()} describes. */
    public static SshTarget fromArgs(List<String> args) {
        if (args.isEmpty()) {
            throw MachineException.state("the machine's record has no ssh target; start it again");
        }
        return new SshTarget(args.subList(0, args.size() - 1), args.get(args.size() - 1));
    }

    /** The arguments that select this target: the options, then the destination. */
    public List<String> args() {
        List<String> args = new ArrayList<>(options);
        args.add(destination);
        return args;
    }
}
