package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildx;
import buildkitmachine.machine.Machine;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "buildx",
        description = {"Register machines as the nodes of one buildx builder (remote driver).",
            "Each node is pinned to the platform its machine builds natively, so that",
            "'docker buildx build --platform a,b' runs each platform on a native machine.",
            "Deleting a machine removes its node; a builder left with no node is removed."},
        footer = {"", "Examples:",
            "  buildkit-machine buildx amd arm --builder multi --use",
            "  docker buildx build --builder multi --platform linux/amd64,linux/arm64 -t app:1 ."})
final class BuildxCommand extends MachineCommand {
    private static final String BUILDER_RULE = "[A-Za-z0-9][A-Za-z0-9_.-]*";

    @Parameters(arity = "0..*", paramLabel = "NAME", description = "The machines; default: " + Machine.DEFAULT_NAME)
    List<String> names = new ArrayList<>();

    @Option(names = "--builder", paramLabel = "BUILDER", defaultValue = "buildkit-machine",
            description = "The buildx builder; default: ${DEFAULT-VALUE}.")
    String builder;

    @Option(names = "--use", description = "Make it the builder docker buildx uses by default.")
    boolean use;

    @Option(names = "--json", description = "Print the builder and its nodes as JSON.")
    boolean json;

    @Override
    public Integer call() {
        if (!builder.matches(BUILDER_RULE)) {
            throw MachineException.usage("--builder '" + builder + "' is not a valid builder name; use letters,"
                    + " digits, '.', '_' and '-', e.g. --builder multi");
        }
        List<Machine> machines = (names.isEmpty() ? List.of(Machine.DEFAULT_NAME) : names).stream()
                .map(this::machine).toList();
        Buildx buildx = Buildx.find(host());
        List<Buildx.Node> nodes = new ArrayList<>();
        for (Machine machine : machines) {
            nodes.add(machine.joinBuilder(buildx, builder));
            host().log().progress("node " + machine.name() + " of builder " + builder + ": "
                    + nodes.get(nodes.size() - 1).endpoint() + " (" + nodes.get(nodes.size() - 1).platform() + ")");
        }
        if (use) {
            buildx.use(builder);
        }
        report(nodes);
        return 0;
    }

    private void report(List<Buildx.Node> nodes) {
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("builder", builder);
            result.put("nodes", nodes.stream().map(n -> Map.of("name", n.name(), "endpoint", n.endpoint(),
                    "platform", n.platform())).toList());
            printJson(result);
            return;
        }
        out().println(builder);
        out().flush();
        String platforms = String.join(",", nodes.stream().map(Buildx.Node::platform).distinct().toList());
        host().log().progress("build with: docker buildx build --builder " + builder + " --platform " + platforms
                + " .");
    }
}
