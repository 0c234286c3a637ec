package buildkitmachine.machine;

import buildkitmachine.Log;
import buildkitmachine.buildkit.Worker;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/** Waits until buildkitd answers a real request through an endpoint, not merely until a socket file exists. */
public final class Readiness {
    /** How often to ask; small, so that start returns soon after the daemon starts answering. */
    static final long POLL_MS = 50;
    private static final Duration ONE_CALL = Duration.ofSeconds(2);
    private static final Duration REPORT_EVERY = Duration.ofSeconds(5);
    /** How long a daemon of a machine that was already running may stay silent before it is restarted. */
    static final Duration REVIVE_AFTER = Duration.ofSeconds(8);

    private Readiness() {
    }

    /**
     * Asks until the daemon answers or the deadline passes; returns its workers. On timeout, {@code explain} adds
     * what helps most, such as the daemon's log.
     */
    public static List<Worker> await(Endpoint endpoint, Deadline deadline, Log log, Supplier<String> explain) {
        return await(endpoint, deadline, log, explain, null);
    }

    /**
     * As {@link #await(Endpoint, Deadline, Log, Supplier)}; when the daemon has not answered for a while,
     * {@code revive} (when given) restarts it, once: a machine that was already running may have a dead daemon.
     */
    public static List<Worker> await(Endpoint endpoint, Deadline deadline, Log log, Supplier<String> explain,
            Runnable revive) {
        String lastError = null;
        long nextReport = REPORT_EVERY.toNanos();
        boolean revived = revive == null;
        while (true) {
            try {
                return endpoint.probe().listWorkers(min(ONE_CALL, deadline.remaining()));
            } catch (IOException e) {
                lastError = e.getMessage();
            }
            if (deadline.expired()) {
                throw deadline.timedOut("the last answer from " + endpoint.buildkitHost() + " was: " + lastError
                        + "; " + explain.get());
            }
            if (!revived && deadline.inPhase().compareTo(REVIVE_AFTER) > 0) {
                log.progress("buildkitd does not answer (" + lastError + "); restarting it");
                revive.run();
                revived = true;
            }
            if (deadline.inPhase().toNanos() > nextReport) {
                log.progress("still waiting for buildkitd on " + endpoint.buildkitHost() + " ("
                        + Log.seconds(deadline.inPhase()) + "): " + lastError);
                nextReport += REPORT_EVERY.toNanos();
            }
            deadline.pause(POLL_MS);
        }
    }

    private static Duration min(Duration a, Duration b) {
        Duration floor = Duration.ofMillis(100);
        Duration shorter = a.compareTo(b) < 0 ? a : b;
        return shorter.compareTo(floor) < 0 ? floor : shorter;
    }
}
