package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.MachineRecord;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "env", description = "Print the line that points buildctl at the machine, for eval.",
        footer = {"", "Example:", "  eval \"$(buildkit-machine env)\" && buildctl debug workers"})
final class EnvCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = "--json", description = "Print {\"BUILDKIT_HOST\": …} instead.")
    boolean json;

    @Override
    public Integer call() {
        Machine machine = machine(name.value);
        MachineRecord record = machine.record()
                .filter(r -> !r.endpoints().isEmpty())
                .orElseThrow(() -> MachineException.state("machine " + name.value + " has no endpoint; start it with"
                        + " 'buildkit-machine start " + name.value + "'"));
        if (!machine.endpointsOpen()) {
            throw MachineException.state("the endpoints of " + name.value + " are closed; open them with"
                    + " 'buildkit-machine start " + name.value + "'");
        }
        String buildkitHost = record.endpoints().get(0).buildkitHost();
        if (json) {
            printJson(Map.of("BUILDKIT_HOST", buildkitHost,
                    "endpoints", record.endpoints().stream().map(Endpoint::buildkitHost).toList()));
        } else {
            printEnv(record.endpoints());
        }
        return 0;
    }
}
