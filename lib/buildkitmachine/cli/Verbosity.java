package buildkitmachine.cli;

import buildkitmachine.Log;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** The -v and -q options every command takes; they exclude each other. */
final class Verbosity {
    @ArgGroup(exclusive = true)
    Choice choice;

    static final class Choice {
        @Option(names = {"-v", "--verbose"}, description = "Show each external command and other detail.")
        boolean verbose;

        @Option(names = {"-q", "--quiet"}, description = "Show only errors and warnings, no progress.")
        boolean quiet;
    }

    Log.Level level() {
        if (choice == null) {
            return Log.Level.NORMAL;
        }
        return choice.verbose ? Log.Level.VERBOSE : choice.quiet ? Log.Level.QUIET : Log.Level.NORMAL;
    }
}
