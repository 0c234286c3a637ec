package buildkitmachine.buildkit;

import buildkitmachine.MachineException;
import buildkitmachine.config.BuildkitdConfig;
import buildkitmachine.exec.Program;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.ShellQuote;
import buildkitmachine.ssh.SshTarget;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The buildkitd inside a Linux guest, seen over SSH. Its socket is looked up in the guest rather than assumed: the
 * path moved once already ({@code buildkit/} became {@code buildkit-default/}) and broke the first version of this
 * tool.
 */
public final class GuestDaemon {
    /**
     * Prints the first buildkitd socket found: the rootless ones under the runtime folder first, then the system one.
     * With $1 = N, it looks again every 50 ms up to N times before giving up, so that a caller waiting for the socket
     * learns of it within 50 ms and pays for one SSH round trip, not one per look. A constant script: nothing from
     * the user is ever part of it.
     */
    public static final String FIND_SOCKET = String.join("\n",
            "run=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"",
            "n=${1:-0}",
            "while :; do",
            "  for s in \"$run\"/buildkit-*/buildkitd.sock \"$run\"/buildkit/buildkitd.sock"
                    + " /run/buildkit/buildkitd.sock; do",
            "    if [ -S \"$s\" ]; then echo \"$s\"; exit 0; fi",
            "  done",
            "  [ \"$n\" -gt 0 ] || exit 3",
            "  n=$((n - 1))",
            // A sleep that takes no fractions would fail at once; then the looks are a second apart.
            "  sleep 0.05 2>/dev/null || sleep 1",
            "done");

    /**
     * The last lines of buildkitd's log: the journal of Lima's user service, else the log file that the toolkit's
     * own way of starting buildkitd writes.
     */
    public static final String LOG_TAIL = String.join("\n",
            "if command -v journalctl >/dev/null 2>&1"
                    + " && systemctl --user cat default-buildkit.service >/dev/null 2>&1; then",
            "  exec journalctl --user --no-pager -n 20 -u default-buildkit.service",
            "fi",
            "f=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine/buildkitd.log\"",
            "if [ -f \"$f\" ]; then exec tail -n 20 \"$f\"; fi",
            "echo \"no buildkitd log found (no default-buildkit.service journal, no $f)\"");

    /** Restarts Lima's buildkitd service; exits 3 where there is no such service. */
    public static final String RESTART = String.join("\n",
            "if command -v systemctl >/dev/null 2>&1"
                    + " && systemctl --user cat default-buildkit.service >/dev/null 2>&1; then",
            "  exec systemctl --user restart default-buildkit.service",
            "fi",
            "exit 3");

    /**
     * Prints the worker of the guest's buildkitd (containerd for Lima's service, else oci), then its settings file.
     * The rootless buildkitd reads that file from the user's config folder without being told.
     */
    public static final String READ_CONFIG = String.join("\n",
            "if command -v systemctl >/dev/null 2>&1 && systemctl --user cat default-buildkit.service >/dev/null 2>&1;"
                    + " then echo containerd; else echo oci; fi",
            "f=\"${XDG_CONFIG_HOME:-$HOME/.config}/buildkit/buildkitd.toml\"",
            "if [ -f \"$f\" ]; then cat \"$f\"; fi",
            "exit 0");

    /** Replaces the settings file with stdin, whole or not at all. */
    public static final String WRITE_CONFIG = String.join("\n",
            "d=\"${XDG_CONFIG_HOME:-$HOME/.config}/buildkit\"",
            "mkdir -p \"$d\" && cat >\"$d/buildkitd.toml.tmp\" && mv \"$d/buildkitd.toml.tmp\" \"$d/buildkitd.toml\"");

    /**
     * Prints the emulators missing among those named as arguments (qemu's names, e.g. aarch64); with {@code install}
     * first, installs them with the guest's package manager through passwordless sudo, as Lima's guests allow.
     */
    public static final String EMULATORS = String.join("\n",
            "missing() { for a in \"$@\"; do [ -e \"/proc/sys/fs/binfmt_misc/qemu-$a\" ] || echo \"$a\"; done; }",
            "if [ \"$1\" = install ]; then",
            "  shift",
            "  [ -z \"$(missing \"$@\")\" ] && exit 0",
            "  sudo -n true 2>/dev/null"
                    + " || { echo 'installing emulators needs passwordless sudo in the guest' >&2; exit 4; }",
            "  if command -v apt-get >/dev/null; then sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q"
                    + " qemu-user-static >&2",
            "  elif command -v dnf >/dev/null; then sudo -n dnf install -y qemu-user-static >&2",
            "  else echo 'no apt-get or dnf in the guest to install qemu-user-static with' >&2; exit 4; fi",
            "fi",
            "missing \"$@\"");

    /** Shows the last $1 lines of buildkitd's log, and with $2 = follow, what comes after until interrupted. */
    public static final String LOGS = String.join("\n",
            "n=$1; f=",
            "[ \"$2\" = follow ] && f=-f",
            "if command -v journalctl >/dev/null 2>&1"
                    + " && systemctl --user cat default-buildkit.service >/dev/null 2>&1; then",
            "  exec journalctl --user --no-pager -n \"$n\" $f -u default-buildkit.service",
            "fi",
            "log=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine/buildkitd.log\"",
            "[ -f \"$log\" ] || { echo \"no buildkitd log here: no default-buildkit.service journal,"
                    + " no $log\" >&2; exit 4; }",
            "exec tail -n \"$n\" $f \"$log\"");

    private static final Duration QUICK = Duration.ofSeconds(20);
    private static final long SOCKET_LOOK_MS = 50;

    private final Ssh ssh;
    private final SshTarget target;

    public GuestDaemon(Ssh ssh, SshTarget target) {
        this.ssh = ssh;
        this.target = target;
    }

    /** The socket buildkitd listens on in the guest, if there is one yet. */
    public Optional<String> findSocket() {
        return findSocket(Duration.ZERO);
    }

    /** The socket buildkitd listens on in the guest, waiting up to {@code wait} in the guest for it to appear. */
    public Optional<String> findSocket(Duration wait) {
        long looks = wait.toMillis() / SOCKET_LOOK_MS;
        Program.Result result = ssh.exec(target, "set -- " + looks + "\n" + FIND_SOCKET, QUICK.plus(wait));
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

    /**
     * Writes buildkitd's settings in the guest when they differ from what is there; true when they changed, so that
     * buildkitd must restart to take them. A file the toolkit did not write is left alone while nothing is set.
     */
    public boolean writeConfig(BuildkitdConfig config) {
        String[] seen = ssh.exec(target, READ_CONFIG, QUICK).orFail().stdout().split("\n", 2);
        BuildkitdConfig.Worker worker = "containerd".equals(seen[0].strip())
                ? BuildkitdConfig.Worker.CONTAINERD : BuildkitdConfig.Worker.OCI;
        String current = seen.length > 1 ? seen[1] : "";
        String wanted = config.toml(worker);
        boolean ours = current.startsWith(BuildkitdConfig.HEADER);
        if (current.equals(wanted) || !ours && config.isDefault()) {
            return false;
        }
        ssh.exec(target, WRITE_CONFIG, wanted.getBytes(StandardCharsets.UTF_8), QUICK).orFail();
        return true;
    }

    /**
     * Makes the guest able to run these architectures (qemu's names) by emulation, installing qemu-user-static when
     * any is missing; true when something was installed, so that buildkitd must restart to offer them.
     */
    public boolean ensureEmulators(List<String> qemuArches) {
        if (qemuArches.isEmpty()) {
            return false;
        }
        String arches = ShellQuote.join(qemuArches);
        String missing = ssh.exec(target, "set -- " + arches + "\n" + EMULATORS, QUICK).orFail().stdout().strip();
        if (missing.isEmpty()) {
            return false;
        }
        String left = ssh.exec(target, "set -- install " + arches + "\n" + EMULATORS, Duration.ofMinutes(10))
                .orFail().stdout().strip();
        if (!left.isEmpty()) {
            throw MachineException.toolFailed("the guest still cannot run " + left.replace('\n', ' ')
                    + " after installing qemu-user-static; check 'buildkit-machine ssh' and /proc/sys/fs/binfmt_misc");
        }
        return true;
    }

    /** Streams buildkitd's log to the writers; returns the exit code of the guest's log reader. */
    public int streamLog(int lines, boolean follow, PrintWriter out, PrintWriter err) {
        String arguments = "set -- " + lines + (follow ? " follow" : "") + "\n";
        return ssh.stream(target, arguments + LOGS, out, err);
    }

    /** The tail of buildkitd's log in the guest, for messages when it does not answer. */
    public String logTail() {
        Program.Result result = ssh.exec(target, LOG_TAIL, QUICK);
        String text = (result.stdout() + result.stderr()).strip();
        return text.isEmpty() ? "(the log is empty)" : text;
    }
}
