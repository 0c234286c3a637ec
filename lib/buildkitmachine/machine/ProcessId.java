package buildkitmachine.machine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * A process as the toolkit remembers it: its PID together with its start time, so that a PID the system has since
 * given to another process is never mistaken for ours, let alone signalled.
 *
 * <p>On Linux the start time in milliseconds is the boot time plus the process's age, and each JVM reads the boot
 * time anew from a clock that NTP and virtual machines move: two commands an hour apart were seen 8 s apart about
 * one process. There the start is also kept in the kernel's own clock ticks since boot, which never move, and those
 * decide.
 *
 * @param pid the process ID
 * @param started the start time in milliseconds since the epoch, or -1 where the system does not say
 * @param ticks the start time in clock ticks since boot (Linux), or 0 where the system does not say
 */
public record ProcessId(long pid, long started, long ticks) {
    /** A process remembered by its PID and its start time in milliseconds only. */
    public ProcessId(long pid, long started) {
        this(pid, started, 0);
    }

    /** The identity of a running process. */
    public static ProcessId of(ProcessHandle process) {
        return new ProcessId(process.pid(), startedAt(process), ticksOf(process.pid()));
    }

    /** The process, if it is still the one remembered and alive. */
    public Optional<ProcessHandle> find() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(this::isSameStart);
    }

    private boolean isSameStart(ProcessHandle process) {
        long now = ticks > 0 ? ticksOf(pid) : 0;
        return now > 0 ? now == ticks : startedAt(process) == started;
    }

    /** Reads "PID STARTED [TICKS]" as {@link #toString()} writes it. */
    public static Optional<ProcessId> parse(String text) {
        String[] fields = text.strip().split("\\s+");
        try {
            return Optional.of(new ProcessId(Long.parseLong(fields[0]),
                    fields.length > 1 ? Long.parseLong(fields[1]) : -1,
                    fields.length > 2 ? Long.parseLong(fields[2]) : 0));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static long startedAt(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
    }

    /**
     * Field 22 of {@code /proc/PID/stat}, the start in clock ticks since boot; 0 where there is no such file. The
     * fields are counted from the end of the command's name, which is in parentheses and may hold spaces.
     */
    static long ticksOf(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return fields.length > 19 ? Long.parseLong(fields[19]) : 0;
        } catch (IOException | NumberFormatException | StringIndexOutOfBoundsException e) {
            return 0;
        }
    }

    @Override
    public String toString() {
        return pid + " " + started + (ticks > 0 ? " " + ticks : "");
    }
}
