package buildkitmachine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Diagnostics for people: progress and warnings on stderr with a steady prefix, debug lines only when asked for.
 * Results never go through here; they belong on stdout.
 */
public final class Log {
    /** How much to say. */
    public enum Level { QUIET, NORMAL, VERBOSE }

    private static final long TICK_MS = 200;

    private final PrintWriter err;
    private final Level level;
    private final boolean terminal;
    private String phase;
    private long phaseStart;
    private Thread ticker;

    public Log(PrintWriter err, Level level) {
        this(err, level, false);
    }

    /** With {@code terminal}, a phase is one line that counts its seconds, rewritten in place until it ends. */
    public Log(PrintWriter err, Level level, boolean terminal) {
        this.err = err;
        this.level = level;
        this.terminal = terminal;
    }

    /**
     * Whether this process's stderr is a terminal, where progress may rewrite its line: not when TERM is dumb, nor
     * in a pipe or a file, where plain lines read better.
     */
    public static boolean stderrIsTerminal(Map<String, String> env) {
        if ("dumb".equals(env.get("TERM")) || System.console() == null && env.get("TERM") == null) {
            return false;
        }
        try {
            Path target = Files.readSymbolicLink(Path.of("/proc/self/fd/2"));
            return target.toString().startsWith("/dev/pts/") || target.toString().startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException notLinux) {
            return System.console() != null;
        }
    }

    /** Begins a long step: on a terminal a line that counts its seconds, elsewhere one plain line. */
    public synchronized void phase(String name) {
        endPhase();
        if (level == Level.QUIET) {
            return;
        }
        if (!terminal) {
            print(name + "…");
            return;
        }
        phase = name;
        phaseStart = System.nanoTime();
        draw();
        ticker = new Thread(this::tick, "progress");
        ticker.setDaemon(true);
        ticker.start();
    }

    /** Ends the step under way with a line that says what was done and how long it took. */
    public synchronized void phaseDone(String what, Duration took) {
        endPhase();
        progress(what + " (" + seconds(took) + ")");
    }

    private void tick() {
        while (true) {
            try {
                Thread.sleep(TICK_MS);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (Thread.currentThread() != ticker) {
                    return;
                }
                draw();
            }
        }
    }

    private void draw() {
        err.print("\r\033[Kbuildkit-machine: " + phase + "… "
                + seconds(Duration.ofNanos(System.nanoTime() - phaseStart)));
        err.flush();
    }

    private void endPhase() {
        if (phase == null) {
            return;
        }
        err.print("\r\033[K");
        err.flush();
        phase = null;
        if (ticker != null) {
            ticker.interrupt();
            ticker = null;
        }
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

    private synchronized void print(String line) {
        boolean live = phase != null;
        if (live) {
            err.print("\r\033[K");
        }
        err.println("buildkit-machine: " + line);
        if (live) {
            draw();
        }
        err.flush();
    }

    /** Seconds with one decimal, as progress lines show elapsed time. */
    public static String seconds(Duration duration) {
        return String.format("%.1fs", duration.toMillis() / 1000.0);
    }
}
