package buildkitmachine.cli;

import buildkitmachine.machine.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "stop", description = "Close the machine's endpoints and stop its VM.",
        footer = {"", "Example:", "  buildkit-machine stop buildkitd"})
final class StopCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Override
    public Integer call() {
        Machine machine = machine(name.value);
        machine.stop();
        host().log().progress("stopped " + machine.name());
        return 0;
    }
}
