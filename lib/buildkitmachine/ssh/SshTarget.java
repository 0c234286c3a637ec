package buildkitmachine.ssh;

import buildkitmachine.MachineException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A host to reach with the OpenSSH client: a config file and the Host alias inside it. */
public record SshTarget(Path configFile, String alias) {
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
                .map(alias -> new SshTarget(configFile, alias))
                .orElseThrow(() -> MachineException.toolFailed(configFile + " names no Host; it is not a Lima ssh.config"));
    }

    /** The arguments that select this target: {@code -F config alias}. */
    public List<String> args() {
        return List.of("-F", configFile.toString(), alias);
    }
}
