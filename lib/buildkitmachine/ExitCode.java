package buildkitmachine;

/** The tool's exit codes, defined once; commands that wrap a tool the user asked for pass its code through. */
public enum ExitCode {
    /** Everything asked for was done. */
    OK(0),
    /** An unexpected failure inside the tool. */
    INTERNAL(1),
    /** The command line or a file the user gave is wrong. */
    USAGE(2),
    /** A program the tool needs is missing or too old. */
    MISSING_TOOL(3),
    /** A program the tool ran failed or broke its documented contract. */
    TOOL_FAILED(4),
    /** The daemon did not answer in time. */
    NOT_READY(5),
    /** The machine is not in a state that allows the command (missing, stopped, busy). */
    STATE(6),
    /** {@code doctor} found something that stops the tool from working; each finding says how to fix it. */
    UNHEALTHY(7),
    /** Interrupted by the user (128 + SIGINT, as shells report it). */
    INTERRUPTED(130);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    /** The numeric process exit code. */
    public int code() {
        return code;
    }
}
