package buildkitmachine.machine;

import buildkitmachine.MachineException;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.exec.Program;
import buildkitmachine.ssh.SshTarget;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * buildkitd on a Linux build host of the user's, reached over SSH with the host key checked against known hosts.
 * It uses the buildkitd that answers there, or starts a rootless one when asked to, and stops only what it started.
 */
final class SshDriver implements Driver {
    private static final Duration QUICK = Duration.ofSeconds(20);

    /**
     * Starts a rootless buildkitd (or, for root, a plain one) in the background on the build host, with its socket
     * where {@link GuestDaemon} looks and its log where it reads. A constant script: nothing from the user is in it.
     */
    static final String START_DAEMON = String.join("\n",
            "run=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"",
            "data=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine\"",
            "mkdir -p \"$run/buildkit-machine\" \"$data\" || exit 4",
            "if [ -f \"$data/buildkitd.pid\" ] && kill -0 \"$(cat \"$data/buildkitd.pid\")\" 2>/dev/null;"
                    + " then exit 0; fi",
            "PATH=\"$PATH:$HOME/.local/bin:$HOME/bin:/usr/local/sbin:/usr/sbin:/sbin\"",
            "command -v buildkitd >/dev/null || { echo 'buildkitd is not installed on the build host' >&2; exit 4; }",
            "if [ \"$(id -u)\" = 0 ]; then set -- buildkitd; else",
            "  command -v rootlesskit >/dev/null"
                    + " || { echo 'rootlesskit is not installed on the build host' >&2; exit 4; }",
            "  set -- rootlesskit --net=host --copy-up=/etc --disable-host-loopback buildkitd",
            "fi",
            "nohup setsid \"$@\" --addr \"unix://$run/buildkit-machine/buildkitd.sock\" --root \"$data/root\" \\",
            "  >\"$data/buildkitd.log\" 2>&1 </dev/null &",
            "echo $! >\"$data/buildkitd.pid\"");

    /** Ends the buildkitd that {@link #START_DAEMON} started, and only that one. */
    static final String STOP_DAEMON = String.join("\n",
            "f=\"${XDG_DATA_HOME:-$HOME/.local/share}/buildkit-machine/buildkitd.pid\"",
            "[ -f \"$f\" ] || exit 0",
            "pid=$(cat \"$f\")",
            "kill \"$pid\" 2>/dev/null",
            "i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done",
            "kill -9 \"$pid\" 2>/dev/null",
            "rm -f \"$f\"");

    private final Machine machine;

    SshDriver(Machine machine) {
        this.machine = machine;
    }

    @Override
    public String name() {
        return SSH;
    }

    @Override
    public void requireTools() {
        machine.ssh().program().require();
    }

    private RemoteHost remote() {
        return machine.record().map(MachineRecord::remote).orElseThrow(() -> MachineException.usage(
                "the ssh driver needs the build host: start " + machine.name() + " --driver ssh --host [USER@]HOST"));
    }

    @Override
    public Route bringUp(StartOptions options, Deadline deadline) {
        RemoteHost remote = remote();
        SshTarget target = remote.target();
        deadline.phase("connecting to " + remote.display());
        checkReachable(remote, target);
        GuestDaemon daemon = new GuestDaemon(machine.ssh(), target);
        boolean mayStart = options.startDaemon() || machine.record().map(MachineRecord::startedDaemon).orElse(false);
        boolean found = daemon.findSocket().isPresent();
        if (!found) {
            startDaemon(remote, target, mayStart);
        }
        return new Route.Forwarded(target, LimaDriver.awaitSocket(daemon, deadline, null), found && mayStart);
    }

    /** Restarts the buildkitd this toolkit started; a daemon of the host's own is not the toolkit's to touch. */
    @Override
    public void revive() {
        if (machine.record().map(MachineRecord::startedDaemon).orElse(false)) {
            machine.ssh().exec(remote().target(), STOP_DAEMON, QUICK).orFail();
            machine.ssh().exec(remote().target(), START_DAEMON, QUICK).orFail();
        }
    }

    private void checkReachable(RemoteHost remote, SshTarget target) {
        Program.Result result = machine.ssh().exec(target, "true", QUICK);
        if (result.ok()) {
            return;
        }
        if (result.stderr().contains("Host key verification failed")) {
            throw MachineException.toolFailed("the host key of " + remote.host() + " is not in your known hosts"
                    + fingerprint(remote) + "; if it is the host's key, add it with 'ssh-keyscan "
                    + (remote.port() == 0 ? "" : "-p " + remote.port() + " ") + remote.host()
                    + " >> ~/.ssh/known_hosts' (or ssh to it once) and start again");
        }
        throw MachineException.toolFailed("cannot reach " + remote.display() + " over ssh: "
                + Program.tail(result.stderr(), 2));
    }

    /** The key the host offers, so the user can compare it with what the host's owner says it is. */
    private String fingerprint(RemoteHost remote) {
        String path = machine.host().env().getOrDefault("PATH", "");
        Optional<java.nio.file.Path> keyscan = Program.findOnPath("ssh-keyscan", path);
        Optional<java.nio.file.Path> keygen = Program.findOnPath("ssh-keygen", path);
        if (keyscan.isEmpty() || keygen.isEmpty()) {
            return "";
        }
        List<String> scan = remote.port() == 0 ? List.of("-T", "5", remote.host())
                : List.of("-T", "5", "-p", Integer.toString(remote.port()), remote.host());
        Program.Result keys = new Program("ssh-keyscan", "", machine.host()).run(scan, QUICK);
        Program.Result prints = new Program("ssh-keygen", "", machine.host())
                .run(List.of("-l", "-f", "-"), keys.stdout().getBytes(java.nio.charset.StandardCharsets.UTF_8), QUICK);
        List<String> fingerprints = prints.stdout().lines().map(l -> l.split("\\s+"))
                .filter(f -> f.length > 1).map(f -> f[1] + " " + f[f.length - 1]).toList();
        return fingerprints.isEmpty() ? "" : " (it offers " + String.join(", ", fingerprints) + ")";
    }

    private void startDaemon(RemoteHost remote, SshTarget target, boolean asked) {
        if (!asked) {
            throw MachineException.state("no buildkitd answers on " + remote.display() + "; start one there, or"
                    + " pass --start-daemon to let buildkit-machine start a rootless one");
        }
        machine.host().log().progress("starting a rootless buildkitd on " + remote.display());
        machine.ssh().exec(target, START_DAEMON, QUICK).orFail();
        machine.store().write(machine.record().orElseThrow().onRemote(remote, true));
    }

    @Override
    public String state() {
        try {
            return new GuestDaemon(machine.ssh(), remote().target()).findSocket().isPresent() ? "Running" : "Stopped";
        } catch (MachineException e) {
            return "Unreachable";
        }
    }

    @Override
    public void stop() {
        Optional<MachineRecord> record = machine.record();
        if (record.map(MachineRecord::startedDaemon).orElse(false)) {
            machine.host().log().progress("stopping the buildkitd buildkit-machine started on "
                    + remote().display());
            machine.ssh().exec(remote().target(), STOP_DAEMON, QUICK).orFail();
            machine.store().write(record.get().onRemote(remote(), false));
        }
    }

    @Override
    public void delete(boolean force) {
        stop();
    }

    @Override
    public SshTarget shell() {
        return remote().target();
    }

    @Override
    public String logTail() {
        return new GuestDaemon(machine.ssh(), remote().target()).logTail();
    }
}
