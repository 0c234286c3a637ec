package buildkitmachine.cli;

import buildkitmachine.buildkit.BuildCache;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "du", description = "Show how much disk the machine's build cache takes, and how much of it is"
        + " unused.", footer = {"", "Example:", "  buildkit-machine du --json"})
final class DuCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = "--json", description = "Print the sizes as JSON, in bytes.")
    boolean json;

    @Override
    public Integer call() {
        BuildCache.Usage usage = new BuildCache(machine(name.value).buildctl()).usage();
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("name", name.value);
            result.put("records", usage.records());
            result.put("bytes", usage.bytes());
            result.put("reclaimableBytes", usage.reclaimableBytes());
            printJson(result);
        } else {
            out().printf("%-12s %s%n%-12s %s%n%-12s %d%n", "size", BuildCache.human(usage.bytes()), "reclaimable",
                    BuildCache.human(usage.reclaimableBytes()), "records", usage.records());
            out().flush();
        }
        return 0;
    }
}
