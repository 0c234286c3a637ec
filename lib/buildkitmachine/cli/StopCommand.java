package buildkitmachine.cli;

import buildkitmachine.machine.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "stop", description = "Close the machine's endpoints and stop its VM.",
        footer = {"", "Example:", "  buildkit-machine stop buildkitd"})
final class StopCommand extends MachineCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", defaultValue = Machine.DEFAULT_NAME,
            description = "The machine; default: ${DEFAULT-VALUE}.")
    String name;

    @Override
    public Integer call() {
        Machine machine = machine(name);
        machine.stop();
        host().log().progress("stopped " + machine.name());
        return 0;
    }
}
