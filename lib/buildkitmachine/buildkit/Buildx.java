package buildkitmachine.buildkit;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * docker buildx, the standalone {@code docker-buildx} binary or the Docker CLI plugin (the same binary, which also
 * runs on its own): multi-node builders with the remote driver, one node per machine.
 */
public final class Buildx {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INSTALL = "install docker buildx: 'brew install docker-buildx' on macOS, or your"
            + " distribution's docker-buildx package";

    private final Program program;
    private final List<String> prefix;

    private Buildx(Program program, List<String> prefix) {
        this.program = program;
        this.prefix = prefix;
    }

    /** The buildx on this host: {@code docker-buildx} on PATH or in a CLI plugin folder, else {@code docker buildx}. */
    public static Buildx find(Host host) {
        String path = host.env().getOrDefault("PATH", "");
        Optional<Path> standalone = Program.findOnPath("docker-buildx", path)
                .or(() -> Program.findOnPath("docker-buildx", String.join(":", pluginFolders(host))));
        if (standalone.isPresent()) {
            return new Buildx(new Program(standalone.get().toString(), INSTALL, host), List.of());
        }
        if (Program.findOnPath("docker", path).isPresent()) {
            return new Buildx(new Program("docker", INSTALL, host), List.of("buildx"));
        }
        throw MachineException.missingTool("docker buildx was not found; " + INSTALL);
    }

    /** Where the Docker CLI looks for plugins, in its order. */
    private static List<String> pluginFolders(Host host) {
        String home = host.env().getOrDefault("HOME", System.getProperty("user.home"));
        String config = host.env().getOrDefault("DOCKER_CONFIG", home + "/.docker");
        return List.of(config + "/cli-plugins", "/usr/local/lib/docker/cli-plugins",
                "/usr/local/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins",
                "/usr/libexec/docker/cli-plugins", "/opt/homebrew/lib/docker/cli-plugins");
    }

    /** One node of a builder: a machine's endpoint and the platform it builds natively. */
    public record Node(String name, String endpoint, String platform, List<String> driverOptions) {
    }

    /** The node names of a builder, or empty when there is no such builder. */
    public Optional<List<String>> nodes(String builder) {
        Program.Result result = run(List.of("ls", "--format", "json"));
        if (!result.ok()) {
            throw MachineException.toolFailed(result.describeFailure());
        }
        for (String line : result.stdout().split("\\R")) {
            JsonNode entry = parse(line);
            if (entry != null && builder.equals(entry.path("Name").asText())) {
                List<String> names = new ArrayList<>();
                entry.path("Nodes").forEach(n -> names.add(n.path("Name").asText()));
                return Optional.of(names);
            }
        }
        return Optional.empty();
    }

    private static JsonNode parse(String line) {
        if (!line.strip().startsWith("{")) {
            return null;
        }
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            return null;
        }
    }

    /** Adds the node to the builder, creating the builder when needed, or updates the node when it is there. */
    public void join(String builder, Node node) {
        Optional<List<String>> nodes = nodes(builder);
        List<String> args = new ArrayList<>(List.of("create", "--name", builder, "--driver", "remote",
                "--node", node.name(), "--platform", node.platform()));
        if (nodes.isPresent() && !nodes.get().contains(node.name())) {
            args.add("--append");
        }
        for (String option : node.driverOptions()) {
            args.addAll(List.of("--driver-opt", option));
        }
        args.add(node.endpoint());
        run(args).orFail();
    }

    /** Removes the node; a builder that would be left with no node is removed instead. */
    public void leave(String builder, String node) {
        Optional<List<String>> nodes = nodes(builder);
        if (nodes.isEmpty() || !nodes.get().contains(node)) {
            return;
        }
        if (nodes.get().size() == 1) {
            run(List.of("rm", builder)).orFail();
            return;
        }
        run(List.of("create", "--leave", "--name", builder, "--node", node)).orFail();
    }

    /** Makes the builder the one {@code docker buildx build} uses by default. */
    public void use(String builder) {
        run(List.of("use", builder)).orFail();
    }

    /** Runs buildx with these arguments. */
    public Program.Result run(List<String> args) {
        List<String> full = new ArrayList<>(prefix);
        full.addAll(args);
        return program.run(full, TIMEOUT);
    }
}
