package buildkitmachine.buildkit;

import buildkitmachine.exec.Program;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import java.time.Duration;
import java.util.Optional;

/**
 * The buildkitd inside a Linux guest, seen over SSH. Its socket is looked up in the guest rather than assumed: the
 * path moved once already ({@code buildkit/} became {@code buildkit-default/}) and broke the first version of this
 * tool.
 */
public final class GuestDaemon {
    /**
     * Prints the first buildkitd socket found: the rootless ones under the runtime folder first, then the system one.
     * A constant script: nothing from the user is ever part of it.
     */
    public static final String FIND_SOCKET = String.join("\n",
            "run=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"",
            "for s in \"$run\"/buildkit-*/buildkitd.sock \"$run\"/buildkit/buildkitd.sock /run/buildkit/buildkitd.sock; do",
            "  if [ -S \"$s\" ]; then echo \"$s\"; exit 0; fi",
            "done",
            "exit 3");

    /**
     * The last lines of buildkitd's log: the journal of Lima's user service, else the log file that the toolkit's
     * own way of starting buildkitd writes.
     */
    public static final String LOG_TAIL = String.join("\n",
            "if command -v journalctl >/dev/null 2>&1 && systemctl --user cat default-buildkit.service >/dev/null 2>&1; then",
            "  exec journalctl --user --no-pager -n 20 -u default-buildkit.service",
            "fi",
            "f=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine/buildkitd.log\"",
            "if [ -f \"$f\" ]; then exec tail -n 20 \"$f\"; fi",
            "echo \"no buildkitd log found (no default-buildkit.service journal, no $f)\"");

    /** Restarts Lima's buildkitd service; exits 3 where there is no such service. */
    public static final String RESTART = String.join("\n",
            "if command -v systemctl >/dev/null 2>&1 && systemctl --user cat default-buildkit.service >/dev/null 2>&1; then",
            "  exec systemctl --user restart default-buildkit.service",
            "fi",
            "exit 3");

    private static final Duration QUICK = Duration.ofSeconds(20);

    private final Ssh ssh;
    private final SshTarget target;

    public GuestDaemon(Ssh ssh, SshTarget target) {
        this.ssh = ssh;
        this.target = target;
    }

    /** The socket buildkitd listens on in the guest, if there is one yet. */
    public Optional<String> findSocket() {
        Program.Result result = ssh.exec(target, FIND_SOCKET, QUICK);
        if (result.exitCode() == 3) {
            return Optional.empty();
        }
        String path = result.orFail().stdout().strip();
        return path.startsWith("/") ? Optional.of(path) : Optional.empty();
    }

    /** Restarts buildkitd through the guest's service manager; false where it has none for buildkitd. */
    public boolean restart() {
        Program.Result result = ssh.exec(target, RESTART, Duration.ofMinutes(2));
        if (result.exitCode() == 3) {
            return false;
        }
        result.orFail();
        return true;
    }

    /** The tail of buildkitd's log in the guest, for messages when it does not answer. */
    public String logTail() {
        Program.Result result = ssh.exec(target, LOG_TAIL, QUICK);
        String text = (result.stdout() + result.stderr()).strip();
        return text.isEmpty() ? "(the log is empty)" : text;
    }
}
