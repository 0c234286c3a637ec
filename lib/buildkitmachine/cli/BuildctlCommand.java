package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Machine;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "buildctl",
        description = {"Run buildctl against a machine: its address and TLS flags come first, your arguments after"
                + " -- follow unchanged. The exit code is buildctl's."},
        footer = {"", "Examples:",
            "  buildkit-machine buildctl -- debug workers",
            "  buildkit-machine buildctl arm -- build --frontend dockerfile.v0 --local context=. --local dockerfile=."})
final class BuildctlCommand extends MachineCommand {
    @Parameters(paramLabel = "[NAME] -- ARG", description = "The machine (default: buildkit), then -- and"
            + " buildctl's arguments.")
    List<String> words = new ArrayList<>();

    @Override
    public Integer call() {
        List<String> before = beforeDashes(words);
        if (before.size() > 1) {
            throw MachineException.usage("put buildctl's arguments after --, e.g. 'buildkit-machine buildctl "
                    + before.get(0) + " -- debug workers'");
        }
        String name = before.isEmpty() ? Machine.DEFAULT_NAME : before.get(0);
        List<String> args = words.subList(before.size(), words.size());
        if (args.isEmpty()) {
            throw MachineException.usage("give buildctl's arguments after --, e.g. 'buildkit-machine buildctl --"
                    + " debug workers'");
        }
        return machine(name).buildctl().stream(args, cli().workingFolder(), out(), err());
    }
}
