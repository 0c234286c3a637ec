package buildkitmachine;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Diagnostics for people: progress and warnings on stderr with a steady prefix, debug lines only when asked for.
 * Results never go through here; they belong on stdout.
 */
public final class Log {
    /** How much to say. */
    public enum Level { QUIET, NORMAL, VERBOSE }

    private final PrintWriter err;
    private final Level level;

    public Log(PrintWriter err, Level level) {
        this.err = err;
        this.level = level;
    }

    /** A log that prints nothing, for library callers that want silence. */
    public static Log silent() {
        return new Log(new PrintWriter(PrintWriter.nullWriter()), Level.QUIET);
    }

    /** A step of a long task, shown unless quiet. */
    public void progress(String message) {
        if (level != Level.QUIET) {
            print(message);
        }
    }

    /** Something the user should know even when quiet. */
    public void warn(String message) {
        print("warning: " + message);
    }

    /** Detail for -v: exact command lines, timings. */
    public void debug(String message) {
        if (level == Level.VERBOSE) {
            print("debug: " + message);
        }
    }

    /** Whether debug lines are printed. */
    public boolean verbose() {
        return level == Level.VERBOSE;
    }

    /** The error that ends a command: always printed, one line. */
    public void error(String message) {
        print("error: " + message);
    }

    private void print(String line) {
        err.println("buildkit-machine: " + line);
        err.flush();
    }

    /** Seconds with one decimal, as progress lines show elapsed time. */
    public static String seconds(Duration duration) {
        return String.format("%.1fs", duration.toMillis() / 1000.0);
    }
}
