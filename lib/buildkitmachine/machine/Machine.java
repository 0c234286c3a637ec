package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildctl;
import buildkitmachine.buildkit.Buildx;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.buildkit.Worker;
import buildkitmachine.exec.Program;
import buildkitmachine.lima.Limactl;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import buildkitmachine.tls.TlsFiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A named machine: a buildkitd (in a Lima VM, on this host, or on a build host over SSH) and the endpoints that
 * offer it on this host. This is the library's front door; each method is one step a user's script may take.
 */
public final class Machine {
    /** The name used when none is given; never Lima's {@code default}, which is often the user's everyday VM. */
    public static final String DEFAULT_NAME = "buildkit";
    private static final int LONGEST_NAME = 76;
    private static final Duration KEEPER_GRACE = Duration.ofSeconds(5);

    private final Host host;
    private final String name;
    private final MachineStore store;
    private final Ssh ssh;

    private Machine(Host host, String name) {
        this.host = host;
        this.name = name;
        this.store = new MachineStore(host.stateHome());
        this.ssh = new Ssh(host);
    }

    /** The machine of that name; the name must follow Lima's rules, since it may name a Lima instance too. */
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
            throw MachineException.usage("'" + name.replaceAll("\\p{Cntrl}", "?") + "' is not a valid machine name:"
                    + " use at most " + LONGEST_NAME + " letters and digits, joined singly by '.', '_' or '-',"
                    + " e.g. 'buildkit-arm'");
        }
    }

    /** The names of every machine the toolkit knows. */
    public static List<String> known(Host host) {
        return new MachineStore(host.stateHome()).names();
    }

    /** The machine's name. */
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

    /** How the machine runs: its remembered driver, else Lima (a Lima instance the toolkit has not seen yet). */
    public String driverName() {
        return record().map(MachineRecord::driver).orElse(Driver.LIMA);
    }

    Driver driver() {
        return Driver.of(driverName(), this);
    }

    /** The detached process that keeps this machine's forwarded endpoints open. */
    public Supervisor forwardKeeper() {
        return new Supervisor(host, folder(), Supervisor.FORWARD);
    }

    /** Whether buildkitd of the local driver runs. */
    boolean localDaemonRuns() {
        return new Supervisor(host, folder(), Supervisor.DAEMON).running().isPresent();
    }

    /** Whether the endpoints are open: a forward keeper or (local driver) buildkitd itself runs. */
    public boolean endpointsOpen() {
        return forwardKeeper().running().isPresent() || localDaemonRuns();
    }

    /** Creates, starts and connects the machine, leaving a detached process to hold the endpoints open. */
    public Started start(StartOptions options) {
        return new Startup(this, options).run(false);
    }

    /**
     * Creates, starts and connects the machine with endpoints owned by the caller: closing the returned value closes
     * them. This is what {@code start --foreground} and scripts use.
     */
    public Started startAttached(StartOptions options) {
        return new Startup(this, options).run(true);
    }

    /** Closes the endpoints and stops buildkitd (and the VM). Nothing of the toolkit's keeps running. */
    public void stop() {
        if (record().isEmpty() && "NotCreated".equals(driver().state())) {
            throw MachineException.state("there is no machine named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        closeEndpoints();
        driver().stop();
    }

    /** Ends the keeper and removes the socket files it made, leaving buildkitd and the VM as they are. */
    public void closeEndpoints() {
        forwardKeeper().terminate(KEEPER_GRACE);
        record().ifPresent(r -> removeSockets(r.endpoints()));
    }

    /** Removes the socket files of these endpoints, and those behind their TCP relays, that are still there. */
    void removeSockets(List<Endpoint> endpoints) {
        for (Endpoint endpoint : endpoints) {
            if (endpoint instanceof Endpoint.Unix unix) {
                SocketFile.removeIfSocket(unix.path());
            } else if (endpoint instanceof Endpoint.Tcp tcp) {
                tcp.relaySocket(folder()).ifPresent(SocketFile::removeIfSocket);
            }
        }
    }

    /**
     * Deletes the machine: its endpoints, its state, the buildkitd it started and, when this toolkit created it,
     * its Lima instance. A running machine needs {@code force}.
     */
    public void delete(boolean force) {
        Driver driver = driver();
        String state = driver.state();
        if (record().isEmpty() && "NotCreated".equals(state)) {
            throw MachineException.state("there is no machine named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        boolean running = "Running".equals(state) || "Broken".equals(state);
        if (running && !force && !Driver.SSH.equals(driver.name())) {
            throw MachineException.state("machine " + name + " is " + state + "; stop it first ('buildkit-machine"
                    + " stop " + name + "') or delete it with --force");
        }
        leaveBuilders();
        closeEndpoints();
        driver.delete(force);
        store.forget(name);
    }

    /**
     * Makes the machine a node of a buildx builder (remote driver) through its first endpoint, pinned to the
     * platform its daemon builds natively; the builder is created when it does not exist.
     */
    public Buildx.Node joinBuilder(Buildx buildx, String builder) {
        MachineRecord record = record().filter(r -> endpointsOpen()).orElseThrow(() -> MachineException.state(
                "the endpoints of " + name + " are closed; open them with 'buildkit-machine start " + name + "'"));
        Endpoint endpoint = record.endpoints().stream().filter(Endpoint.Unix.class::isInstance).findFirst()
                .orElse(record.endpoints().get(0));
        List<String> platforms = record.platforms();
        if (platforms.isEmpty()) {
            throw MachineException.state("the platforms of " + name + " are not known yet; run 'buildkit-machine"
                    + " start " + name + "' once more");
        }
        List<String> tls = endpoint instanceof Endpoint.Tcp tcp
                ? tcp.tlsFiles().map(t -> List.of(t.buildxDriverOptions())).orElse(List.of()) : List.of();
        Buildx.Node node = new Buildx.Node(name, endpoint.buildkitHost(), platforms.get(0), tls);
        buildx.join(builder, node);
        List<String> builders = new ArrayList<>(record.builders());
        if (!builders.contains(builder)) {
            builders.add(builder);
        }
        store.write(record.inBuilders(builders));
        return node;
    }

    /** buildctl pointed at the machine's first endpoint, with its TLS flags; the endpoints must be open. */
    public Buildctl buildctl() {
        MachineRecord record = record().filter(r -> !r.endpoints().isEmpty() && endpointsOpen())
                .orElseThrow(() -> MachineException.state("machine " + name + " is not running; start it with"
                        + " 'buildkit-machine start " + name + "'"));
        Endpoint endpoint = record.endpoints().get(0);
        List<String> tls = endpoint instanceof Endpoint.Tcp tcp
                ? tcp.tlsFiles().map(TlsFiles::buildctlFlags).orElse(List.of()) : List.of();
        return new Buildctl(host, endpoint.buildkitHost(), tls);
    }

    /**
     * Streams the last lines of buildkitd's log to the writers, and with {@code follow} what comes after until the
     * user interrupts; returns the exit code of the program that reads the log.
     */
    public int logs(int lines, boolean follow, PrintWriter out, PrintWriter err) {
        if (record().isEmpty() && "NotCreated".equals(driver().state())) {
            throw MachineException.state("there is no machine named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        if (!Driver.LOCAL.equals(driverName())) {
            return new GuestDaemon(ssh, driver().shell()).streamLog(lines, follow, out, err);
        }
        Path log = new Supervisor(host, folder(), Supervisor.DAEMON).logFile();
        if (!Files.isRegularFile(log)) {
            throw MachineException.state("buildkitd of " + name + " has written no log yet; start it with"
                    + " 'buildkit-machine start " + name + "'");
        }
        List<String> args = new ArrayList<>(List.of("-n", Integer.toString(lines)));
        if (follow) {
            args.add("-F");
        }
        args.add(log.toString());
        return new Program("tail", "install coreutils", host).stream(args, folder(), out, err);
    }

    /** Removes the machine from every buildx builder it joined; builders left without a node go too. */
    public void leaveBuilders() {
        Optional<MachineRecord> record = record();
        if (record.isEmpty() || record.get().builders().isEmpty()) {
            return;
        }
        Buildx buildx = Buildx.find(host);
        for (String builder : record.get().builders()) {
            buildx.leave(builder, name);
        }
        store.write(record.get().inBuilders(List.of()));
    }

    /** The machine's state, each endpoint, and whether buildkitd answers through it. */
    public MachineStatus status() {
        return MachineStatus.of(this, driver().state());
    }

    /** Where {@code ssh} takes the user: the VM, or the build host. */
    public SshTarget shellTarget() {
        return driver().shell();
    }

    /** Every platform the workers build, each once. */
    static List<String> platformsOf(List<Worker> workers) {
        return workers.stream().flatMap(w -> w.platforms().stream()).distinct().toList();
    }

    /**
     * A started machine: where to reach it and what its daemon offers. Closing it closes what the caller owns (the
     * forward, or the local buildkitd of an attached start); a detached start owns nothing of the caller's.
     */
    public record Started(String name, List<Endpoint> endpoints, List<Worker> workers, AutoCloseable owned)
            implements AutoCloseable {
        /** The address for buildctl's {@code --addr} or {@code BUILDKIT_HOST}: the first endpoint's. */
        public String buildkitHost() {
            return endpoints.get(0).buildkitHost();
        }

        /** Every platform the daemon's workers build, e.g. linux/arm64. */
        public List<String> platforms() {
            return platformsOf(workers);
        }

        @Override
        public void close() {
            if (owned == null) {
                return;
            }
            try {
                owned.close();
            } catch (Exception e) {
                throw MachineException.internal("cannot close the endpoints: " + e.getMessage(), e);
            }
        }
    }

    Host host() {
        return host;
    }

    Ssh ssh() {
        return ssh;
    }

    MachineStore store() {
        return store;
    }
}
