package buildkitmachine.machine;

import java.time.Instant;
import java.util.Optional;

/**
 * A process as the toolkit remembers it: its PID together with its start time, so that a PID the system has since
 * given to another process is never mistaken for ours, let alone signalled.
 *
 * @param pid the process ID
 * @param started the start time in milliseconds since the epoch, or -1 where the system does not say
 */
public record ProcessId(long pid, long started) {
    /** The identity of a running process. */
    public static ProcessId of(ProcessHandle process) {
        return new ProcessId(process.pid(), startedAt(process));
    }

    /** The process, if it is still the one remembered and alive. */
    public Optional<ProcessHandle> find() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> startedAt(p) == started);
    }

    /** Reads "PID STARTED" as {@link #toString()} writes it. */
    public static Optional<ProcessId> parse(String text) {
        String[] fields = text.strip().split("\\s+");
        try {
            return Optional.of(new ProcessId(Long.parseLong(fields[0]),
                    fields.length > 1 ? Long.parseLong(fields[1]) : -1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static long startedAt(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
    }

    @Override
    public String toString() {
        return pid + " " + started;
    }
}
