package buildkitmachine.cli;

import buildkitmachine.MachineException;
import picocli.CommandLine.Command;

@Command(name = "doctor", description = "(being built)")
final class DoctorCommand extends MachineCommand {
    @Override
    public Integer call() {
        throw MachineException.internal("doctor is being built", null);
    }
}
