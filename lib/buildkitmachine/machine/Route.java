package buildkitmachine.machine;

import buildkitmachine.ssh.SshTarget;

/** How the endpoints reach a running buildkitd: forwarded over ssh, or the daemon listens on them itself. */
sealed interface Route permits Route.Forwarded, Route.Direct {
    /**
     * buildkitd listens on a socket at the far end of an ssh connection.
     *
     * @param wasRunning whether the machine ran before this start, so that a silent daemon is worth restarting
     */
    record Forwarded(SshTarget target, String socket, boolean wasRunning) implements Route {
    }

    /** buildkitd runs on this host and listens on the endpoints itself. */
    record Direct() implements Route {
    }
}
