package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.MachineRecord;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "env", description = "Print the line that points buildctl at the machine, for eval.",
        footer = {"", "Example:", "  eval \"$(buildkit-machine env)\" && buildctl debug workers"})
final class EnvCommand extends MachineCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", defaultValue = Machine.DEFAULT_NAME,
            description = "The machine; default: ${DEFAULT-VALUE}.")
    String name;

    @Option(names = "--json", description = "Print {\"BUILDKIT_HOST\": …} instead.")
    boolean json;

    @Override
    public Integer call() {
        Machine machine = machine(name);
        MachineRecord record = machine.record()
                .filter(r -> !r.endpoints().isEmpty())
                .orElseThrow(() -> MachineException.state("machine " + name + " has no endpoint; start it with"
                        + " 'buildkit-machine start " + name + "'"));
        if (machine.supervisor().running().isEmpty()) {
            throw MachineException.state("the endpoints of " + name + " are closed; open them with"
                    + " 'buildkit-machine start " + name + "'");
        }
        String buildkitHost = record.endpoints().get(0).buildkitHost();
        if (json) {
            printJson(Map.of("BUILDKIT_HOST", buildkitHost,
                    "endpoints", record.endpoints().stream().map(Endpoint::buildkitHost).toList()));
        } else {
            out().println(exportLine(buildkitHost));
            out().flush();
        }
        return 0;
    }
}
