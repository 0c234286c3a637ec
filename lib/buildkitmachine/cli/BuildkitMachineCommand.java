package buildkitmachine.cli;

import buildkitmachine.BuildInfo;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top of the command tree; it only lists the subcommands. */
@Command(name = "buildkit-machine",
        // Every subcommand inherits --help and --version.
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = BuildInfo.class,
        description = "Runs a rootless BuildKit daemon in a Lima VM and offers it on the host as a unix socket "
                + "or a TCP port, ready for buildctl and docker buildx.",
        footer = {"", "Exit codes:", "  0 ok, 1 internal error, 2 bad usage, 3 missing or too old tool,",
            "  4 a tool failed, 5 buildkitd did not answer in time,",
            "  6 machine not in the needed state, 7 doctor found a problem, 130 interrupted;",
            "  build, buildctl and ssh pass their program's own exit code through"})
final class BuildkitMachineCommand implements Runnable {
    /** The subcommands, in the order help lists them; {@link Cli} adds them to the tree. */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            StartCommand.class, StopCommand.class, StatusCommand.class, ListCommand.class, EnvCommand.class,
            SshCommand.class, BuildxCommand.class, DeleteCommand.class, ConfigCommand.class, BuildCommand.class,
            BuildctlCommand.class, DuCommand.class, PruneCommand.class, LogsCommand.class, DoctorCommand.class,
            CompletionCommand.class, InstallCommand.class);

    final Cli cli;

    @Spec
    CommandSpec spec;

    BuildkitMachineCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a command is missing, e.g. 'start'");
    }
}
