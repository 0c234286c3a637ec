package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.Limactl;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.MachineRecord;
import buildkitmachine.machine.MachineStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", aliases = "ls",
        description = {"List the machines with their driver, state, endpoints and platforms.",
            "Lima machines show the VM's state; local and ssh machines show whether their endpoints are open."},
        footer = {"", "Example:", "  buildkit-machine list --json"})
final class ListCommand extends MachineCommand {
    private static final String ROW = "%-20s %-6s %-11s %-40s %s%n";

    @Option(names = "--json", description = "Print one JSON object per machine, one per line.")
    boolean json;

    @Override
    public Integer call() {
        MachineStore store = new MachineStore(host().stateHome());
        List<MachineRecord> records = store.names().stream().flatMap(n -> store.read(n).stream()).toList();
        Optional<Map<String, LimaInstance>> instances = records.stream().anyMatch(r -> "lima".equals(r.driver()))
                ? limaInstances() : Optional.of(Map.of());
        if (!json) {
            out().printf(ROW, "NAME", "DRIVER", "STATE", "ENDPOINTS", "PLATFORMS");
        }
        for (MachineRecord record : records) {
            print(record, state(record, instances));
        }
        out().flush();
        return 0;
    }

    /**
     * Lima's instances, or none when limactl cannot tell (missing, broken): the other machines are still listed, and
     * the Lima ones as Unknown, with the reason on stderr.
     */
    private Optional<Map<String, LimaInstance>> limaInstances() {
        try {
            return Optional.of(new Limactl(host()).list().stream()
                    .collect(Collectors.toMap(LimaInstance::name, Function.identity(), (a, b) -> a)));
        } catch (MachineException e) {
            host().log().warn("the state of Lima machines is Unknown: " + e.getMessage());
            return Optional.empty();
        }
    }

    private String state(MachineRecord record, Optional<Map<String, LimaInstance>> instances) {
        if ("lima".equals(record.driver())) {
            return instances.map(known -> known.containsKey(record.name())
                    ? known.get(record.name()).status() : "NotCreated").orElse("Unknown");
        }
        return Machine.named(host(), record.name()).endpointsOpen() ? "Running" : "Stopped";
    }

    private void print(MachineRecord record, String state) {
        List<String> endpoints = record.endpoints().stream().map(Endpoint::buildkitHost).toList();
        if (json) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", record.name());
            row.put("driver", record.driver());
            row.put("state", state);
            row.put("endpoints", endpoints);
            row.put("platforms", record.platforms());
            if (record.remote() != null) {
                row.put("host", record.remote().display());
            }
            printJson(row);
        } else {
            out().printf(ROW, record.name(), record.driver(), state, String.join(" ", endpoints),
                    String.join(",", record.platforms()));
        }
    }
}
