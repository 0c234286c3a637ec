package buildkitmachine.machine;

import buildkitmachine.Log;
import buildkitmachine.MachineException;
import java.time.Duration;

/**
 * The time a whole {@code start} may take, split into named phases, so that a timeout says which step did not
 * finish and how long each took.
 */
public final class Deadline {
    private final long startNanos = System.nanoTime();
    private final long endNanos;
    private final Duration total;
    private final Log log;
    private String phase = "starting";
    private long phaseStart = startNanos;

    public Deadline(Duration total, Log log) {
        this.total = total;
        this.endNanos = startNanos + total.toNanos();
        this.log = log;
    }

    /** Begins a named phase and shows it as progress. */
    public void phase(String name) {
        phase = name;
        phaseStart = System.nanoTime();
        log.phase(name);
    }

    /** A progress line within the current phase. */
    public void say(String message) {
        log.progress(message);
    }

    /** Reports the current phase as done, with how long it took. */
    public void done(String what) {
        log.phaseDone(what, Duration.ofNanos(System.nanoTime() - phaseStart));
    }

    /** The phase under way. */
    public String currentPhase() {
        return phase;
    }

    /** Time left; never negative. */
    public Duration remaining() {
        return Duration.ofNanos(Math.max(0, endNanos - System.nanoTime()));
    }

    /** Time since the start. */
    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** Time since the current phase began. */
    public Duration inPhase() {
        return Duration.ofNanos(System.nanoTime() - phaseStart);
    }

    /** Whether the time is up. */
    public boolean expired() {
        return System.nanoTime() >= endNanos;
    }

    /** The error for running out of time in the current phase, with whatever detail explains it. */
    public MachineException timedOut(String detail) {
        return MachineException.notReady("timed out after " + total.toSeconds() + "s while " + phase
                + (detail == null || detail.isBlank() ? "" : "; " + detail)
                + "; raise --timeout if the machine is just slow");
    }

    /** Sleeps a little between polls, or fails as interrupted. */
    public void pause(long millis) {
        try {
            Thread.sleep(Math.min(millis, Math.max(1, remaining().toMillis())));
        } catch (InterruptedException e) {
            throw MachineException.interrupted(phase);
        }
    }
}
