package buildkitmachine.cli;

import buildkitmachine.ExitCode;
import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command line: builds picocli's tree over the library and turns every failure into one line on stderr and an
 * exit code from {@link ExitCode}. Tests run it in-process with their own environment and writers.
 */
public final class Cli {
    private final Map<String, String> env;
    private final Path workingFolder;
    private final boolean terminal;

    public Cli(Map<String, String> env, Path workingFolder) {
        this(env, workingFolder, false);
    }

    /** With {@code terminal}, progress lines count their seconds in place. */
    public Cli(Map<String, String> env, Path workingFolder, boolean terminal) {
        this.env = Map.copyOf(env);
        this.workingFolder = workingFolder;
        this.terminal = terminal;
    }

    /** The command line of this process. */
    public static Cli current() {
        return new Cli(System.getenv(), Path.of("").toAbsolutePath(), Log.stderrIsTerminal(System.getenv()));
    }

    /** Runs one command and returns its exit code. */
    public int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = commandLine(out, err, needed(args));
        return commandLine.execute(args);
    }

    /** The whole picocli tree, wired to these writers. */
    public CommandLine commandLine(PrintWriter out, PrintWriter err) {
        return commandLine(out, err, BuildkitMachineCommand.SUBCOMMANDS);
    }

    /**
     * The subcommand the first argument names, alone; else all of them. Building a subcommand's model loads the
     * classes of all its fields, so a short command that builds only its own starts sooner. Help, version,
     * completion and a mistyped command see the whole tree.
     */
    static List<Class<?>> needed(String... args) {
        for (Class<?> subcommand : BuildkitMachineCommand.SUBCOMMANDS) {
            Command command = subcommand.getAnnotation(Command.class);
            boolean named = args.length > 0
                    && (command.name().equals(args[0]) || Arrays.asList(command.aliases()).contains(args[0]));
            if (named && subcommand != CompletionCommand.class) {
                return List.of(subcommand);
            }
        }
        return BuildkitMachineCommand.SUBCOMMANDS;
    }

    private CommandLine commandLine(PrintWriter out, PrintWriter err, List<Class<?>> subcommands) {
        CommandLine commandLine = new CommandLine(new BuildkitMachineCommand(this));
        subcommands.forEach(commandLine::addSubcommand);
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setExecutionExceptionHandler(this::onFailure);
        commandLine.setParameterExceptionHandler(Cli::onBadUsage);
        return commandLine;
    }

    /** The host as a command sees it, with diagnostics at the level the user chose. */
    Host host(PrintWriter err, Log.Level level) {
        return Host.of(env, new Log(err, level, terminal));
    }

    /** The folder relative paths are resolved against. */
    Path workingFolder() {
        return workingFolder;
    }

    private int onFailure(Exception failure, CommandLine commandLine, CommandLine.ParseResult parsed) {
        PrintWriter err = commandLine.getErr();
        if (failure instanceof MachineException known) {
            err.println("buildkit-machine: error: " + known.getMessage());
            if (verbose(parsed) && known.getCause() != null) {
                known.getCause().printStackTrace(err);
            }
            err.flush();
            return known.exitCode().code();
        }
        err.println("buildkit-machine: error: unexpected " + failure.getClass().getSimpleName() + ": "
                + failure.getMessage() + (verbose(parsed) ? "" : " (run again with -v for details)"));
        if (verbose(parsed)) {
            failure.printStackTrace(err);
        }
        err.flush();
        return ExitCode.INTERNAL.code();
    }

    private static boolean verbose(CommandLine.ParseResult parsed) {
        return parsed.expandedArgs().contains("-v") || parsed.expandedArgs().contains("--verbose");
    }

    /** A bad flag or value: one line that says what is wrong and where the help is. */
    private static int onBadUsage(CommandLine.ParameterException problem, String[] args) {
        CommandLine command = problem.getCommandLine();
        PrintWriter err = command.getErr();
        String message = problem.getMessage().lines().findFirst().orElse("bad usage");
        err.println("buildkit-machine: error: " + message + "; see '" + command.getCommandSpec().qualifiedName()
                + " --help'");
        err.flush();
        return ExitCode.USAGE.code();
    }
}
