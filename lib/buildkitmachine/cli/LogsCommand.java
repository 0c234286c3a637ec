package buildkitmachine.cli;

import buildkitmachine.MachineException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "logs", description = "Show buildkitd's log: the journal of Lima's service in the VM, or the log"
        + " of the buildkitd the toolkit started.",
        footer = {"", "Examples:", "  buildkit-machine logs", "  buildkit-machine logs arm -f -n 50"})
final class LogsCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = {"-f", "--follow"}, description = "Keep showing new lines until Ctrl-C.")
    boolean follow;

    @Option(names = {"-n", "--lines"}, paramLabel = "N", defaultValue = "100",
            description = "How many of the last lines to show; default: ${DEFAULT-VALUE}.")
    int lines;

    @Override
    public Integer call() {
        if (lines < 1 || lines > 1_000_000) {
            throw MachineException.usage("-n " + lines + " is out of range; give 1 to 1000000 lines");
        }
        int code = machine(name.value).logs(lines, follow, out(), err());
        return code == 130 || code == 143 ? 0 : code;
    }
}
