package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Machine;
import buildkitmachine.ssh.Ssh;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "ssh", description = {"Open a shell in the machine, or run a command there after '--'.",
    "The command's exit code is passed through; each argument reaches it unchanged."},
        footer = {"", "Examples:", "  buildkit-machine ssh", "  buildkit-machine ssh buildkitd -- uname -a"})
final class SshCommand extends MachineCommand {
    @Parameters(arity = "0..*", paramLabel = "[NAME] [-- CMD…]",
            description = "The machine (default: " + Machine.DEFAULT_NAME + "), then the command to run.")
    List<String> words = List.of();

    @Override
    public Integer call() {
        List<String> original = spec.commandLine().getParseResult().originalArgs();
        int dashes = original.indexOf("--");
        List<String> command = dashes < 0 ? List.of() : original.subList(dashes + 1, original.size());
        List<String> beforeCommand = words.subList(0, words.size() - command.size());
        if (beforeCommand.size() > 1) {
            throw MachineException.usage("ssh takes one machine name, then '--' and the command, e.g. "
                    + "'buildkit-machine ssh buildkit -- uname -a'");
        }
        Machine machine = machine(beforeCommand.isEmpty() ? Machine.DEFAULT_NAME : beforeCommand.get(0));
        return new Ssh(host()).interactive(machine.shellTarget(), command, out(), err());
    }
}
