package buildkitmachine.exec;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The programs this process is waiting on. When the tool is interrupted (Ctrl-C, kill) they are ended with it, so
 * that no limactl or ssh carries on alone; but a program started while the tool is already shutting down (the
 * clean-up of {@code start --foreground} runs limactl stop then) is left to finish its work.
 */
final class Children {
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Children::endAll, "end-children"));
    }

    private Children() {
    }

    /** Ends the process with this one, unless this one is shutting down already. */
    static void track(Process process) {
        if (shuttingDown()) {
            return;
        }
        RUNNING.add(process);
        process.onExit().thenRun(() -> RUNNING.remove(process));
    }

    private static boolean shuttingDown() {
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    private static void endAll() {
        // Only the child itself: what it started on purpose to outlive it (Lima's host agent) is its business.
        RUNNING.forEach(Process::destroy);
    }
}
