package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.buildkit.Worker;
import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.Limactl;
import buildkitmachine.lima.Template;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A named machine: a Lima instance running buildkitd, and the endpoints that offer it on the host. This is the
 * library's front door; each method is one step a user's script may take on its own.
 */
public final class Machine {
    /** The name used when none is given; never Lima's {@code default}, which is often the user's everyday VM. */
    public static final String DEFAULT_NAME = "buildkit";
    private static final int LONGEST_NAME = 76;
    private static final Duration STOP_TIME = Duration.ofMinutes(5);
    private static final Duration KEEPER_GRACE = Duration.ofSeconds(5);

    private final Host host;
    private final String name;
    private final MachineStore store;
    private final Limactl limactl;
    private final Ssh ssh;

    private Machine(Host host, String name) {
        this.host = host;
        this.name = name;
        this.store = new MachineStore(host.stateHome());
        this.limactl = new Limactl(host);
        this.ssh = new Ssh(host);
    }

    /** The machine of that name; the name must follow Lima's rules, since it names the Lima instance too. */
    public static Machine named(Host host, String name) {
        checkName(name);
        return new Machine(host, name);
    }

    /** Fails with a usage error when the name is not one Lima accepts. */
    public static void checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw MachineException.usage("the machine name is empty; use letters and digits, e.g. 'buildkit'");
        }
        if (name.length() > LONGEST_NAME || !name.matches(Limactl.NAME_RULE)
                || name.endsWith(".yaml") || name.endsWith(".yml")) {
            throw MachineException.usage("'" + printable(name) + "' is not a valid machine name: use at most "
                    + LONGEST_NAME + " letters and digits, joined singly by '.', '_' or '-', e.g. 'buildkit-arm'");
        }
    }

    private static String printable(String text) {
        return text.replaceAll("\\p{Cntrl}", "?");
    }

    /** The machine's name, which is also its Lima instance's name. */
    public String name() {
        return name;
    }

    /** The folder where the toolkit keeps this machine's state. */
    public Path folder() {
        return store.folder(name);
    }

    /** What the toolkit remembers of this machine, if anything. */
    public Optional<MachineRecord> record() {
        return store.read(name);
    }

    /** The Lima instance, if it exists. */
    public Optional<LimaInstance> instance() {
        return limactl.find(name);
    }

    /** The detached process that keeps this machine's endpoints open. */
    public Supervisor supervisor() {
        return new Supervisor(host, folder());
    }

    /** The ssh target of a running instance. */
    public SshTarget sshTarget(LimaInstance instance) {
        return SshTarget.fromConfig(instance.sshConfig());
    }

    /** buildkitd in the instance's guest. */
    public GuestDaemon daemon(LimaInstance instance) {
        return new GuestDaemon(ssh, sshTarget(instance));
    }

    /** Creates, starts and connects the machine, leaving a detached keeper to hold the endpoints open. */
    public Started start(StartOptions options) {
        return new Startup(this, host, store, limactl, options).run(false);
    }

    /**
     * Creates, starts and connects the machine with a forward owned by the caller: closing the returned value's
     * forward closes the endpoints. This is what {@code start --foreground} and scripts use.
     */
    public Started startAttached(StartOptions options) {
        return new Startup(this, host, store, limactl, options).run(true);
    }

    /** Closes the endpoints and stops the VM. Nothing of the toolkit's keeps running, no socket file stays. */
    public void stop() {
        closeEndpoints();
        Optional<LimaInstance> instance = instance();
        if (instance.isEmpty()) {
            throw MachineException.state("there is no Lima instance named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        if (!instance.get().stopped()) {
            host.log().progress("stopping the Lima instance " + name + "…");
            limactl.stop(name, instance.get().broken(), STOP_TIME);
        }
    }

    /** Ends the keeper and removes the socket files it made, leaving the VM as it is. */
    public void closeEndpoints() {
        Supervisor supervisor = supervisor();
        supervisor.terminate(KEEPER_GRACE);
        record().ifPresent(r -> r.endpoints().stream()
                .filter(Endpoint.Unix.class::isInstance)
                .forEach(e -> SocketFile.removeIfSocket(((Endpoint.Unix) e).path())));
    }

    /**
     * Deletes the machine: its endpoints, its state and, when this toolkit created it, its Lima instance. A running
     * instance needs {@code force}.
     */
    public void delete(boolean force) {
        Optional<LimaInstance> instance = instance();
        Optional<MachineRecord> record = record();
        if (instance.isEmpty() && record.isEmpty()) {
            throw MachineException.state("there is no machine named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        if (instance.isPresent() && !instance.get().stopped() && !force) {
            throw MachineException.state("machine " + name + " is " + instance.get().status()
                    + "; stop it first ('buildkit-machine stop " + name + "') or delete it with --force");
        }
        closeEndpoints();
        if (instance.isPresent()) {
            deleteInstance(instance.get(), record.map(MachineRecord::createdInstance).orElse(false), force);
        }
        store.forget(name);
    }

    private void deleteInstance(LimaInstance instance, boolean ours, boolean force) {
        if (!ours) {
            host.log().warn("the Lima instance " + name + " was not created by buildkit-machine, so it is kept;"
                    + " delete it with 'limactl delete " + name + "' if you no longer need it");
            return;
        }
        host.log().progress("deleting the Lima instance " + name + "…");
        limactl.delete(name, force || !instance.stopped(), STOP_TIME);
    }

    /** The machine's state, each endpoint, and whether buildkitd answers through it. */
    public MachineStatus status() {
        return MachineStatus.of(this, instance());
    }

    /**
     * A started machine: where to reach it, what its daemon offers, and the forward when the caller owns it.
     * Closing it closes a forward the caller owns; the VM keeps running until {@link #stop()}.
     */
    public record Started(String name, List<Endpoint> endpoints, List<Worker> workers, Forward forward)
            implements AutoCloseable {
        /** The address for buildctl's {@code --addr} or {@code BUILDKIT_HOST}: the first endpoint's. */
        public String buildkitHost() {
            return endpoints.get(0).buildkitHost();
        }

        /** Every platform the daemon's workers build, e.g. linux/arm64. */
        public List<String> platforms() {
            return MachineStatus.platformsOf(workers);
        }

        @Override
        public void close() {
            if (forward != null) {
                forward.close();
            }
        }
    }

    Host host() {
        return host;
    }

    Ssh ssh() {
        return ssh;
    }

    Template bundledTemplate() {
        return Template.bundled();
    }
}
