package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Worker;
import buildkitmachine.config.Config;
import buildkitmachine.lima.LimaResources;
import buildkitmachine.lima.Template;
import buildkitmachine.tls.CertificateAuthority;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One run of {@code start}: every check that can refuse bad input comes before anything is created, then the phases
 * run in order under one deadline, and a timeout names the phase that did not finish.
 */
final class Startup {
    private final Machine machine;
    private final Host host;
    private final MachineStore store;
    private final StartOptions options;
    private final Deadline deadline;

    Startup(Machine machine, StartOptions options) {
        this.machine = machine;
        this.host = machine.host();
        this.store = machine.store();
        this.options = options;
        this.deadline = new Deadline(options.timeout(), host.log());
    }

    Machine.Started run(boolean attached) {
        Optional<MachineRecord> known = store.read(machine.name());
        List<Endpoint> endpoints = secure(chooseEndpoints(known));
        checkEndpoints(endpoints, known, machine.forwardKeeper());
        String driverName = chooseDriver(known);
        checkOptionsFit(driverName, known);
        checkConfig(driverName);
        // Only a new machine may need the bundled template; parsing it (the YAML parser's first use) costs an
        // existing machine's start about 100 ms. A known machine whose instance is gone reads it when re-created.
        if (Driver.LIMA.equals(driverName) && options.template() == null && known.isEmpty()) {
            Template.bundled();
        }
        Driver driver = Driver.of(driverName, machine);
        driver.requireTools();
        try (MachineStore.Lock lock = store.lock(machine.name(), this::sayBusy)) {
            // Read again under the lock: a start that ran meanwhile may have created the machine.
            Optional<MachineRecord> current = store.read(machine.name());
            if (current.isPresent() && !current.get().driver().equals(driverName)) {
                throw MachineException.state("machine " + machine.name() + " was just started with the "
                        + current.get().driver() + " driver by another command; start it again without --driver");
            }
            remember(current, driverName);
            try {
                return bringUp(driver, endpoints, attached);
            } catch (RuntimeException e) {
                forgetIfNew(current, driver);
                throw e;
            }
        }
    }

    private String chooseDriver(Optional<MachineRecord> known) {
        String asked = options.driver();
        if (asked != null && !Driver.NAMES.contains(asked)) {
            throw MachineException.usage("--driver '" + asked + "' is not one of " + String.join(", ", Driver.NAMES));
        }
        if (known.isPresent()) {
            String kept = known.get().driver();
            if (asked != null && !asked.equals(kept)) {
                throw MachineException.usage("machine " + machine.name() + " uses the " + kept + " driver; delete it"
                        + " first ('buildkit-machine delete " + machine.name() + "') or choose another name");
            }
            return kept;
        }
        return asked != null ? asked : Driver.defaultName(host);
    }

    private void checkOptionsFit(String driver, Optional<MachineRecord> known) {
        boolean ssh = Driver.SSH.equals(driver);
        if (!ssh && (options.remote() != null || options.startDaemon())) {
            throw MachineException.usage("--host and --start-daemon are for the ssh driver; add --driver ssh");
        }
        if (ssh && options.remote() == null && known.map(MachineRecord::remote).isEmpty()) {
            throw MachineException.usage("the ssh driver needs the build host: add --host [USER@]HOST[:PORT]");
        }
        boolean sized = !options.resources().equals(LimaResources.defaults()) || options.template() != null;
        if (!Driver.LIMA.equals(driver) && sized) {
            throw MachineException.usage("--cpus, --memory, --disk, --arch, --vm-type and --template size a Lima VM;"
                    + " the " + driver + " driver has none");
        }
    }

    /** Reads the configuration files now, so that a mistake in them stops the start before anything changes. */
    private void checkConfig(String driver) {
        Config config = Config.load(host, machine.name());
        LimaResources vm = options.resources().orElse(config.vm());
        if (Boolean.TRUE.equals(vm.rosetta()) && vm.vmType() != null && !"vz".equals(vm.vmType())) {
            throw MachineException.usage("vm.rosetta needs the vz VM type, not " + vm.vmType() + "; set vm.vmType"
                    + " to vz or vm.rosetta to false");
        }
        if (Driver.SSH.equals(driver) && !config.buildkitd().isDefault()) {
            host.log().warn("buildkitd settings of the configuration apply to Lima and local machines only; the"
                    + " build host's buildkitd keeps its own");
        }
    }

    /** With --tls, the TCP endpoint takes mutual TLS with the material in the machine's folder. */
    private List<Endpoint> secure(List<Endpoint> endpoints) {
        if (!options.tls()) {
            return endpoints;
        }
        if (endpoints.stream().noneMatch(Endpoint.Tcp.class::isInstance)) {
            throw MachineException.usage("--tls secures a TCP endpoint; add --tcp [HOST:]PORT");
        }
        Path folder = store.folder(machine.name()).resolve("tls");
        return endpoints.stream()
                .map(e -> e instanceof Endpoint.Tcp tcp ? (Endpoint) tcp.withTls(folder) : e)
                .toList();
    }

    private void sayBusy() {
        host.log().progress("another buildkit-machine command is changing " + machine.name() + "; waiting for it…");
    }

    private List<Endpoint> chooseEndpoints(Optional<MachineRecord> known) {
        if (!options.endpoints().isEmpty()) {
            return options.endpoints();
        }
        if (known.isPresent() && !known.get().endpoints().isEmpty()) {
            return known.get().endpoints();
        }
        return List.of(new Endpoint.Unix(store.folder(machine.name()).resolve("buildkitd.sock")));
    }

    /** Refuses endpoints that cannot work, before anything is created or changed. */
    private void checkEndpoints(List<Endpoint> endpoints, Optional<MachineRecord> known, Supervisor keeper) {
        boolean servedNow = known.isPresent() && (keeper.running().isPresent() || machine.localDaemonRuns());
        List<Endpoint> current = servedNow ? known.get().endpoints() : List.of();
        for (Endpoint endpoint : endpoints) {
            if (endpoint instanceof Endpoint.Unix unix) {
                checkSocketPath(unix);
            } else if (endpoint instanceof Endpoint.Tcp tcp) {
                checkPort(tcp, current.stream().anyMatch(e -> e instanceof Endpoint.Tcp served
                        && served.host().equals(tcp.host()) && served.port() == tcp.port()));
            }
        }
    }

    private void checkSocketPath(Endpoint.Unix unix) {
        Path path = unix.path();
        Path parent = path.getParent();
        if (parent != null && parent.startsWith(store.folder(machine.name()))) {
            return;
        }
        if (parent == null || !Files.isDirectory(parent)) {
            throw MachineException.usage("the folder of --unix " + path + " does not exist; create it first");
        }
        if (!Files.isWritable(parent)) {
            throw MachineException.usage("the folder of --unix " + path + " is not writable; choose another path");
        }
        if (SocketFile.writableByOthers(parent)) {
            throw MachineException.usage("the folder of --unix " + path + " is writable by other users, who could"
                    + " replace the socket; choose a folder of your own, e.g. --unix ./buildkitd.sock");
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !socketOfOurs(path)) {
            throw MachineException.usage(path + " exists and is not a socket of buildkit-machine's; it is left"
                    + " alone: remove it yourself or choose another --unix path");
        }
    }

    private boolean socketOfOurs(Path path) {
        if (!SocketFile.isSocket(path)) {
            return false;
        }
        Endpoint.Unix asEndpoint = new Endpoint.Unix(path);
        return store.names().stream()
                .flatMap(n -> store.read(n).stream())
                .anyMatch(r -> r.endpoints().contains(asEndpoint));
    }

    private void checkPort(Endpoint.Tcp tcp, boolean servedByThisMachine) {
        if (!tcp.loopback() && tcp.tls() == null) {
            throw MachineException.usage("--tcp " + tcp.host() + ":" + tcp.port() + " would let anyone who can"
                    + " reach it run builds; add --tls for mutual TLS, or bind loopback, e.g. --tcp " + tcp.port());
        }
        if (servedByThisMachine) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(tcp.host(), tcp.port()));
        } catch (IOException e) {
            throw MachineException.usage("port " + tcp.port() + " on " + tcp.host()
                    + " is already in use; choose another with --tcp");
        }
    }

    /** Writes the record a new machine starts from; a keeper killed with SIGKILL leaves state that is ours to clean. */
    private void remember(Optional<MachineRecord> known, String driverName) {
        MachineRecord record = known.orElse(MachineRecord.fresh(machine.name(), driverName));
        if (options.remote() != null) {
            record = record.onRemote(options.remote(), record.startedDaemon());
        }
        store.write(record);
        Supervisor keeper = machine.forwardKeeper();
        if (keeper.stale()) {
            host.log().progress("cleaning up after a forward keeper that is gone");
            keeper.terminate(Duration.ZERO);
            machine.removeSockets(record.endpoints());
        }
    }

    /**
     * A machine that did not exist before and failed to start leaves nothing behind, but for a Lima instance that
     * it created: its record stays, so that 'delete' can remove it.
     */
    private void forgetIfNew(Optional<MachineRecord> known, Driver driver) {
        if (known.isPresent() || store.read(machine.name()).map(MachineRecord::createdInstance).orElse(false)) {
            return;
        }
        if (!Driver.LIMA.equals(driver.name())) {
            try {
                driver.stop();
            } catch (MachineException ignored) {
                // The start's own error is what the user needs to see.
            }
        }
        store.forget(machine.name());
    }

    private Machine.Started bringUp(Driver driver, List<Endpoint> endpoints, boolean attached) {
        for (Endpoint endpoint : endpoints) {
            if (endpoint instanceof Endpoint.Tcp tcp && tcp.tls() != null) {
                CertificateAuthority.ensure(Path.of(tcp.tls()), tcp.host());
            }
        }
        Route route = driver.bringUp(options, deadline);
        MachineRecord base = store.read(machine.name()).orElseThrow();
        if (route instanceof Route.Forwarded forwarded) {
            MachineRecord record = base.forwarding(endpoints, forwarded.socket(), forwarded.target().args());
            Runnable revive = forwarded.wasRunning() ? driver::revive : null;
            return attached ? attach(record, driver, revive) : detach(record, driver, revive);
        }
        return runLocal(base.forwarding(endpoints, null, List.of()), (LocalDriver) driver, attached);
    }

    private Machine.Started detach(MachineRecord record, Driver driver, Runnable revive) {
        Supervisor keeper = machine.forwardKeeper();
        Optional<MachineRecord> before = store.read(machine.name());
        boolean reuse = keeper.running().isPresent() && before.map(r -> r.building(List.of()))
                .equals(Optional.of(record.building(List.of())));
        if (!reuse) {
            keeper.terminate(Duration.ofSeconds(5));
            store.write(record);
        }
        deadline.phase("opening " + describe(record.endpoints()));
        if (!reuse) {
            keeper.launchForwardKeeper(record);
        }
        return awaitOrUndo(record, driver, reuse ? null : () -> keeper.terminate(Duration.ofSeconds(3)), null, revive);
    }

    /** The caller's forward is not remembered: it lives only as long as the caller, unlike a keeper's. */
    private Machine.Started attach(MachineRecord record, Driver driver, Runnable revive) {
        MachineRecord remembered = store.read(machine.name()).orElseThrow();
        store.write(remembered.forwarding(remembered.endpoints(), record.guestSocket(), record.ssh()));
        deadline.phase("opening " + describe(record.endpoints()));
        Forward forward = ForwardProcess.open(host, record, machine.folder(), null);
        return awaitOrUndo(record, driver, forward::close, forward, revive);
    }

    private Machine.Started runLocal(MachineRecord record, LocalDriver driver, boolean attached) {
        Optional<MachineRecord> before = store.read(machine.name());
        boolean changed = driver.configure();
        boolean reuse = !attached && !changed && driver.daemon().running().isPresent()
                && before.map(MachineRecord::endpoints).equals(Optional.of(record.endpoints()));
        store.write(record);
        deadline.phase("starting buildkitd on " + describe(record.endpoints()));
        if (!reuse) {
            driver.launch(record.endpoints());
        }
        Runnable undo = () -> {
            driver.stop();
            machine.removeSockets(record.endpoints());
        };
        Runnable revive = reuse ? () -> driver.launch(record.endpoints()) : null;
        return awaitOrUndo(record, driver, reuse ? null : undo, attached ? undo::run : null, revive);
    }

    /**
     * Waits until buildkitd answers through every endpoint. If it does not, or the user presses Ctrl-C meanwhile,
     * {@code undo} ends what this start launched; {@code owned} is what an attached caller closes later.
     */
    private Machine.Started awaitOrUndo(MachineRecord record, Driver driver, Runnable undo, AutoCloseable owned,
            Runnable revive) {
        Thread hook = undo == null ? null : new Thread(undo);
        if (hook != null) {
            Runtime.getRuntime().addShutdownHook(hook);
        }
        try {
            List<Worker> workers = awaitAnswers(record, driver, revive);
            // buildkitd makes its sockets group-usable; the toolkit's are its owner's only.
            record.endpoints().stream().filter(Endpoint.Unix.class::isInstance)
                    .forEach(e -> SocketFile.ownerOnly(((Endpoint.Unix) e).path()));
            MachineRecord seen = store.read(machine.name()).orElse(record).building(Machine.platformsOf(workers));
            store.write(seen);
            return new Machine.Started(machine.name(), record.endpoints(), workers, owned);
        } catch (RuntimeException e) {
            if (undo != null) {
                undo.run();
            }
            throw e;
        } finally {
            removeHook(hook);
        }
    }

    private static void removeHook(Thread hook) {
        if (hook == null) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // Already running because the user pressed Ctrl-C: the hook does its work.
        }
    }

    private List<Worker> awaitAnswers(MachineRecord record, Driver driver, Runnable revive) {
        deadline.phase("waiting for buildkitd to answer through " + describe(record.endpoints()));
        List<Worker> workers = List.of();
        for (Endpoint endpoint : record.endpoints()) {
            workers = Readiness.await(endpoint, deadline, host.log(),
                    () -> "buildkitd's log ends with:\n" + driver.logTail(), revive);
        }
        deadline.done("buildkitd answers");
        return workers;
    }

    private static String describe(List<Endpoint> endpoints) {
        return String.join(", ", endpoints.stream().map(Endpoint::buildkitHost).toList());
    }
}
