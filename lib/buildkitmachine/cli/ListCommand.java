package buildkitmachine.cli;

import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.Limactl;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.MachineRecord;
import buildkitmachine.machine.MachineStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", aliases = "ls", description = "List the machines with their state and endpoints.",
        footer = {"", "Example:", "  buildkit-machine list --json"})
final class ListCommand extends MachineCommand {
    @Option(names = "--json", description = "Print one JSON object per machine, one per line.")
    boolean json;

    @Override
    public Integer call() {
        MachineStore store = new MachineStore(host().stateHome());
        List<String> names = store.names();
        Map<String, LimaInstance> instances = names.isEmpty() ? Map.of() : new Limactl(host()).list().stream()
                .collect(Collectors.toMap(LimaInstance::name, Function.identity(), (a, b) -> a));
        if (!json) {
            out().printf("%-20s %-8s %-11s %s%n", "NAME", "DRIVER", "STATE", "ENDPOINTS");
        }
        for (String name : names) {
            store.read(name).ifPresent(record -> print(record, instances.get(name)));
        }
        out().flush();
        return 0;
    }

    private void print(MachineRecord record, LimaInstance instance) {
        String state = instance == null ? "NotCreated" : instance.status();
        List<String> endpoints = record.endpoints().stream().map(Endpoint::buildkitHost).toList();
        if (json) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", record.name());
            row.put("driver", record.driver());
            row.put("state", state);
            row.put("endpoints", endpoints);
            printJson(row);
        } else {
            out().printf("%-20s %-8s %-11s %s%n", record.name(), record.driver(), state, String.join(" ", endpoints));
        }
    }
}
