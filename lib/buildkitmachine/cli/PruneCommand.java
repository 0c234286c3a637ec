package buildkitmachine.cli;

import buildkitmachine.buildkit.BuildCache;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "prune", description = "Shrink the machine's build cache: remove what no build uses now.",
        footer = {"", "Examples:", "  buildkit-machine prune", "  buildkit-machine prune --keep-storage 10GB",
            "  buildkit-machine prune --all"})
final class PruneCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = "--keep-storage", paramLabel = "SIZE", description = "Keep up to this much cache, e.g. 10GB.")
    String keepStorage;

    @Option(names = "--all", description = "Also remove what buildkitd keeps for itself, such as frontend images.")
    boolean all;

    @Option(names = "--json", description = "Print what was removed as JSON, in bytes.")
    boolean json;

    @Override
    public Integer call() {
        Long keep = keepStorage == null ? null : BuildCache.parseSize(keepStorage);
        BuildCache.Usage removed = new BuildCache(machine(name.value).buildctl()).prune(keep, all);
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("name", name.value);
            result.put("records", removed.records());
            result.put("bytes", removed.bytes());
            printJson(result);
        } else {
            out().println("removed " + removed.records() + " records, " + BuildCache.human(removed.bytes()));
            out().flush();
        }
        return 0;
    }
}
