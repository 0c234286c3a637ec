package buildkitmachine.ssh;

import java.util.List;
import java.util.stream.Collectors;

/**
 * POSIX single quoting. ssh hands its command to the remote user's shell as one string, so each argument the user
 * gave is quoted to reach the remote program as exactly that argument, never interpreted.
 */
public final class ShellQuote {
    private ShellQuote() {
    }

    /** One argument, safe to pass through a POSIX shell unchanged. */
    public static String quote(String argument) {
        return "'" + argument.replace("'", "'\\''") + "'";
    }

    /** A whole command line of arguments, each quoted. */
    public static String join(List<String> arguments) {
        return arguments.stream().map(ShellQuote::quote).collect(Collectors.joining(" "));
    }
}
