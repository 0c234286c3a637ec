package buildkitmachine.cli;

import buildkitmachine.machine.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "delete",
        description = {"Delete the machine: its endpoints, its state, and the Lima instance if buildkit-machine "
                + "created it.", "A Lima instance the tool did not create is never deleted."},
        footer = {"", "Example:", "  buildkit-machine delete buildkitd --force"})
final class DeleteCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = {"-f", "--force"}, description = "Delete it even while it runs.")
    boolean force;

    @Override
    public Integer call() {
        Machine machine = machine(name.value);
        machine.delete(force);
        host().log().progress("deleted " + machine.name());
        return 0;
    }
}
