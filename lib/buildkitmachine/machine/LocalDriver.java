package buildkitmachine.machine;

import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Emulation;
import buildkitmachine.config.BuildkitdConfig;
import buildkitmachine.config.Config;
import buildkitmachine.exec.Program;
import buildkitmachine.ssh.SshTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * buildkitd on this host, no VM: rootless under rootlesskit for an ordinary user, as root with the OCI worker. It
 * listens on the endpoints itself, so nothing stands between buildctl and the daemon; its state and build cache
 * live in the machine's folder.
 */
final class LocalDriver implements Driver {
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final Machine machine;
    private final Program buildkitd;
    private final Program rootlesskit;

    LocalDriver(Machine machine) {
        this.machine = machine;
        this.buildkitd = new Program("buildkitd", "install BuildKit: put buildkitd and buildctl from a BuildKit"
                + " release on PATH, or install your distribution's buildkit package", machine.host());
        this.rootlesskit = new Program("rootlesskit",
                "install rootlesskit, e.g. 'apt-get install rootlesskit uidmap' on Debian or Ubuntu", machine.host());
    }

    /** Whether this process runs as root, where buildkitd needs no rootlesskit. */
    static boolean runsAsRoot() {
        return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
    }

    @Override
    public String name() {
        return LOCAL;
    }

    @Override
    public void requireTools() {
        buildkitd.require();
        if (!runsAsRoot()) {
            rootlesskit.require();
        }
    }

    @Override
    public Route bringUp(StartOptions options, Deadline deadline) {
        return new Route.Direct();
    }

    /** The detached buildkitd. */
    Supervisor daemon() {
        return new Supervisor(machine.host(), machine.folder(), Supervisor.DAEMON);
    }

    /** Starts buildkitd detached, listening on the endpoints; a daemon already running is ended first. */
    void launch(List<Endpoint> endpoints) {
        daemon().terminate(STOP_GRACE);
        endpoints.stream().filter(Endpoint.Unix.class::isInstance)
                .forEach(e -> SocketFile.removeIfSocket(((Endpoint.Unix) e).path()));
        Path folder = machine.folder();
        List<String> command = new ArrayList<>();
        if (runsAsRoot()) {
            machine.host().log().progress("running as root: buildkitd runs without rootlesskit, with the OCI worker");
            command.add(buildkitd.require().toString());
            command.addAll(List.of("--oci-worker=true", "--containerd-worker=false"));
        } else {
            command.addAll(List.of(rootlesskit.require().toString(), "--net=host", "--copy-up=/etc",
                    "--disable-host-loopback", "--state-dir=" + fresh(folder.resolve("rootlesskit")),
                    buildkitd.require().toString()));
        }
        command.add("--root=" + folder.resolve("buildkit"));
        command.add("--config=" + configFile());
        for (Endpoint endpoint : endpoints) {
            command.add("--addr=" + endpoint.buildkitHost());
            if (endpoint instanceof Endpoint.Tcp tcp) {
                // buildkitd takes one set of TLS files for all its TCP addresses; there is one TCP endpoint.
                tcp.tlsFiles().ifPresent(tls -> command.addAll(List.of("--tlscacert=" + tls.ca(),
                        "--tlscert=" + tls.serverCert(), "--tlskey=" + tls.serverKey())));
            }
        }
        daemon().launch(command, environment(folder));
    }

    /** buildkitd's settings file, in the machine's folder. */
    Path configFile() {
        return machine.folder().resolve("buildkitd.toml");
    }

    /**
     * Writes buildkitd's settings and checks the emulators the configuration asks for; true when the settings
     * changed, so that a running buildkitd must be restarted to take them.
     */
    boolean configure() {
        Config config = Config.load(machine.host(), machine.name());
        List<String> missing = Emulation.missingHere(config.emulation());
        if (!missing.isEmpty()) {
            throw MachineException.usage("this host cannot emulate " + String.join(", ", missing) + ", which the"
                    + " configuration asks for; install qemu-user-static (e.g. 'sudo apt-get install"
                    + " qemu-user-static') or remove them with 'buildkit-machine config unset emulation'");
        }
        String wanted = config.buildkitd().toml(BuildkitdConfig.Worker.OCI);
        try {
            if (Files.isRegularFile(configFile()) && Files.readString(configFile()).equals(wanted)) {
                return false;
            }
            Files.writeString(configFile(), wanted);
            return true;
        } catch (IOException e) {
            throw MachineException.state("cannot write " + configFile() + " (" + e.getMessage()
                    + "); check that the folder is writable and the disk is not full");
        }
    }

    /** rootlesskit refuses a state folder that exists; the one left by an earlier run is ours to remove. */
    private static String fresh(Path stateDir) {
        MachineStore.deleteTree(stateDir);
        return stateDir.toString();
    }

    private Map<String, String> environment(Path folder) {
        String path = machine.host().env().getOrDefault("PATH", "/usr/bin:/bin");
        // runc lives in /usr/sbin, which an ordinary user's PATH often lacks.
        Map<String, String> env = new HashMap<>(Map.of("PATH", path + ":/usr/sbin:/sbin"));
        if (!machine.host().env().containsKey("XDG_RUNTIME_DIR")) {
            env.put("XDG_RUNTIME_DIR", privateFolder(folder.resolve("run")).toString());
        }
        return env;
    }

    private static Path privateFolder(Path folder) {
        try {
            Files.createDirectories(folder);
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
            return folder;
        } catch (IOException e) {
            throw MachineException.state("cannot create " + folder + ": " + e.getMessage());
        }
    }

    /** The local daemon is relaunched by {@link Startup} with its endpoints; nothing to do here. */
    @Override
    public void revive() {
    }

    @Override
    public String state() {
        if (daemon().running().isPresent()) {
            return "Running";
        }
        return machine.record().isPresent() ? "Stopped" : "NotCreated";
    }

    @Override
    public void stop() {
        machine.host().log().progress("stopping buildkitd…");
        daemon().terminate(STOP_GRACE);
    }

    @Override
    public void delete(boolean force) {
        stop();
    }

    @Override
    public SshTarget shell() {
        throw MachineException.state("machine " + machine.name() + " runs buildkitd on this host (local driver);"
                + " there is nothing to ssh into: use your own shell");
    }

    @Override
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(daemon().logFile());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log at " + daemon().logFile() + ")";
        }
    }
}
