package buildkitmachine.machine;

import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Emulation;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.config.Config;
import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.LimaResources;
import buildkitmachine.lima.Limactl;
import buildkitmachine.lima.Template;
import buildkitmachine.ssh.SshTarget;
import java.time.Duration;
import java.util.Optional;

/** buildkitd in a Lima VM that the toolkit creates from its template, reached over Lima's ssh.config. */
final class LimaDriver implements Driver {
    private static final Duration STOP_TIME = Duration.ofMinutes(5);
    /** How long one look waits in the guest for the socket; the deadline and a revive are checked in between. */
    private static final Duration SOCKET_WAIT = Duration.ofSeconds(2);

    private final Machine machine;
    private final Limactl limactl;

    LimaDriver(Machine machine) {
        this.machine = machine;
        this.limactl = new Limactl(machine.host());
    }

    @Override
    public String name() {
        return LIMA;
    }

    @Override
    public void requireTools() {
        limactl.program().require();
        machine.ssh().program().require();
    }

    @Override
    public Route bringUp(StartOptions options, Deadline deadline) {
        // One limactl list serves both questions: each costs a limactl process (about 50 ms).
        Optional<LimaInstance> found = limactl.find(machine.name());
        boolean wasRunning = found.map(LimaInstance::running).orElse(false);
        LimaInstance instance = ensureRunning(found, options, deadline);
        SshTarget target = SshTarget.fromConfig(instance.sshConfig());
        GuestDaemon daemon = new GuestDaemon(machine.ssh(), target);
        configure(daemon, deadline);
        return new Route.Forwarded(target, awaitSocket(daemon, deadline, wasRunning ? this::revive : null),
                wasRunning);
    }

    /**
     * Brings buildkitd's settings and the emulators the configuration asks for into the guest, and restarts
     * buildkitd when either changed, so that it takes them.
     */
    private void configure(GuestDaemon daemon, Deadline deadline) {
        Config config = Config.load(machine.host(), machine.name());
        deadline.phase("applying buildkitd's settings and emulators in the guest");
        boolean settings = daemon.writeConfig(config.buildkitd());
        boolean emulators = daemon.ensureEmulators(Emulation.qemuNames(config.emulation()));
        if (settings || emulators) {
            deadline.say((settings ? "buildkitd's settings" : "the emulators") + " changed; restarting buildkitd");
            revive();
        }
        deadline.done("buildkitd's settings are in place");
    }

    /** Restarts Lima's buildkitd service, or where the guest has none, the whole VM. */
    @Override
    public void revive() {
        if (new GuestDaemon(machine.ssh(), shell()).restart()) {
            return;
        }
        machine.host().log().progress("restarting the Lima instance " + machine.name() + " to restart buildkitd");
        limactl.stop(machine.name(), true, STOP_TIME);
        limactl.start(machine.name(), STOP_TIME);
    }

    private LimaInstance ensureRunning(Optional<LimaInstance> found, StartOptions options, Deadline deadline) {
        if (found.isEmpty()) {
            create(options, deadline);
        }
        LimaInstance current = found.isPresent() ? found.get() : limactl.find(machine.name()).orElseThrow(() ->
                MachineException.toolFailed("limactl create reported success, but limactl list does not show "
                        + machine.name()));
        if (current.running()) {
            machine.host().log().progress("the Lima instance " + machine.name() + " is running");
            return current;
        }
        if (current.broken()) {
            machine.host().log().progress("the Lima instance " + machine.name() + " is Broken; stopping it first");
            limactl.stop(machine.name(), true, deadline.remaining());
        }
        deadline.phase("starting the Lima instance " + machine.name());
        limactl.start(machine.name(), deadline.remaining());
        deadline.done("started the Lima instance " + machine.name());
        // limactl start exits 0 only once the instance is Running and ssh.config is written: no list needed again.
        return current.started();
    }

    private void create(StartOptions options, Deadline deadline) {
        Template template = options.template() != null ? options.template() : Template.bundled();
        template.minimumLimaVersion().ifPresent(limactl::requireAtLeast);
        deadline.phase("creating the Lima instance " + machine.name() + " from " + template.source());
        try {
            LimaResources resources = options.resources().orElse(Config.load(machine.host(), machine.name()).vm());
            limactl.create(machine.name(), template, resources, deadline.remaining());
        } catch (MachineException e) {
            // Lima may leave a half-made instance behind; it is ours, so it goes.
            limactl.find(machine.name()).ifPresent(i -> limactl.delete(machine.name(), true, deadline.remaining()));
            throw e;
        }
        machine.store().write(machine.store().read(machine.name()).orElseThrow().withCreatedInstance());
        deadline.done("created the Lima instance " + machine.name());
    }

    /**
     * Waits in the guest until buildkitd's socket appears; Lima's own readiness does not wait for it. On a machine that
     * was running already, {@code revive} restarts a daemon that does not come.
     */
    static String awaitSocket(GuestDaemon daemon, Deadline deadline, Runnable revive) {
        deadline.phase("finding buildkitd's socket in the guest");
        boolean revived = revive == null;
        while (true) {
            Duration look = deadline.remaining().compareTo(SOCKET_WAIT) < 0 ? deadline.remaining() : SOCKET_WAIT;
            Optional<String> socket = daemon.findSocket(look);
            if (socket.isPresent()) {
                deadline.done("buildkitd's socket is " + socket.get());
                return socket.get();
            }
            if (deadline.expired()) {
                throw deadline.timedOut("no buildkitd socket appeared in the guest; buildkitd's log ends with:\n"
                        + daemon.logTail());
            }
            if (!revived && deadline.inPhase().compareTo(Readiness.REVIVE_AFTER) > 0) {
                deadline.say("no buildkitd socket in the guest; restarting buildkitd");
                revive.run();
                revived = true;
            }
        }
    }

    @Override
    public String state() {
        return limactl.find(machine.name()).map(LimaInstance::status).orElse("NotCreated");
    }

    @Override
    public void stop() {
        LimaInstance instance = limactl.find(machine.name()).orElseThrow(() -> MachineException.state(
                "there is no Lima instance named " + machine.name()
                        + "; 'buildkit-machine list' shows the machines there are"));
        if (!instance.stopped()) {
            machine.host().log().progress("stopping the Lima instance " + machine.name() + "…");
            limactl.stop(machine.name(), instance.broken(), STOP_TIME);
        }
    }

    @Override
    public void delete(boolean force) {
        Optional<LimaInstance> instance = limactl.find(machine.name());
        if (instance.isEmpty()) {
            return;
        }
        boolean ours = machine.record().map(MachineRecord::createdInstance).orElse(false);
        if (!ours) {
            machine.host().log().warn("the Lima instance " + machine.name() + " was not created by buildkit-machine,"
                    + " so it is kept; delete it with 'limactl delete " + machine.name()
                    + "' if you no longer need it");
            return;
        }
        machine.host().log().progress("deleting the Lima instance " + machine.name() + "…");
        limactl.delete(machine.name(), !instance.get().stopped(), STOP_TIME);
    }

    @Override
    public SshTarget shell() {
        LimaInstance instance = limactl.find(machine.name()).filter(LimaInstance::running).orElseThrow(() ->
                MachineException.state("machine " + machine.name() + " is not running; start it with "
                        + "'buildkit-machine start " + machine.name() + "'"));
        return SshTarget.fromConfig(instance.sshConfig());
    }

    @Override
    public String logTail() {
        return new GuestDaemon(machine.ssh(), shell()).logTail();
    }
}
