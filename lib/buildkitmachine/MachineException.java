package buildkitmachine;

/**
 * The one error the toolkit reports to users: a single line that says what is wrong and how to fix it, with the exit
 * code to leave with. Build it through the named factories so that the code always matches the kind of failure.
 */
public class MachineException extends RuntimeException {
    private final ExitCode exitCode;

    protected MachineException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** The exit code a command leaves with when this error ends it. */
    public ExitCode exitCode() {
        return exitCode;
    }

    /** The user gave something the tool cannot take; the message says how to fix it. */
    public static MachineException usage(String message) {
        return new MachineException(ExitCode.USAGE, message, null);
    }

    /** A program the tool needs is not installed, or is too old. */
    public static MachineException missingTool(String message) {
        return new MachineException(ExitCode.MISSING_TOOL, message, null);
    }

    /** A program failed, or printed something its contract does not allow. */
    public static MachineException toolFailed(String message) {
        return new MachineException(ExitCode.TOOL_FAILED, message, null);
    }

    /** The daemon did not answer through the endpoint in time. */
    public static MachineException notReady(String message) {
        return new MachineException(ExitCode.NOT_READY, message, null);
    }

    /** The machine is missing, stopped, busy or otherwise not where the command needs it. */
    public static MachineException state(String message) {
        return new MachineException(ExitCode.STATE, message, null);
    }

    /** Something failed inside the tool itself. */
    public static MachineException internal(String message, Throwable cause) {
        return new MachineException(ExitCode.INTERNAL, message, cause);
    }

    /** The user interrupted a wait. */
    public static MachineException interrupted(String what) {
        Thread.currentThread().interrupt();
        return new MachineException(ExitCode.INTERRUPTED, "interrupted while " + what, null);
    }
}
