package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.buildkit.Worker;
import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.Limactl;
import buildkitmachine.lima.Template;
import buildkitmachine.ssh.SshTarget;
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
    private static final long SOCKET_POLL_MS = 250;

    private final Machine machine;
    private final Host host;
    private final MachineStore store;
    private final Limactl limactl;
    private final StartOptions options;
    private final Deadline deadline;

    Startup(Machine machine, Host host, MachineStore store, Limactl limactl, StartOptions options) {
        this.machine = machine;
        this.host = host;
        this.store = store;
        this.limactl = limactl;
        this.options = options;
        this.deadline = new Deadline(options.timeout(), host.log());
    }

    Machine.Started run(boolean attached) {
        Optional<MachineRecord> known = store.read(machine.name());
        List<Endpoint> endpoints = chooseEndpoints(known);
        Supervisor supervisor = machine.supervisor();
        checkEndpoints(endpoints, known, supervisor);
        Template template = options.template() != null ? options.template() : machine.bundledTemplate();
        limactl.program().require();
        machine.ssh().program().require();
        try (MachineStore.Lock lock = store.lock(machine.name(), this::sayBusy)) {
            cleanStale(supervisor, known);
            LimaInstance instance = ensureRunning(template, known);
            SshTarget target = machine.sshTarget(instance);
            GuestDaemon daemon = new GuestDaemon(machine.ssh(), target);
            String guestSocket = awaitGuestSocket(daemon);
            MachineRecord record = store.read(machine.name()).orElseThrow()
                    .forwarding(endpoints, guestSocket, target.configFile().toString());
            return attached ? attach(record, daemon) : detach(record, daemon, supervisor);
        }
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
    private void checkEndpoints(List<Endpoint> endpoints, Optional<MachineRecord> known, Supervisor supervisor) {
        boolean servedNow = known.isPresent() && supervisor.running().isPresent();
        List<Endpoint> current = servedNow ? known.get().endpoints() : List.of();
        for (Endpoint endpoint : endpoints) {
            if (endpoint instanceof Endpoint.Unix unix) {
                checkSocketPath(unix);
            } else if (endpoint instanceof Endpoint.Tcp tcp) {
                checkPort(tcp, current.contains(tcp));
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
        if (!tcp.loopback()) {
            throw MachineException.usage("--tcp " + tcp.host() + ":" + tcp.port() + " would let anyone who can"
                    + " reach " + tcp.host() + " run builds; bind loopback instead, e.g. --tcp " + tcp.port());
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

    /** A keeper killed with SIGKILL leaves its PID file and sockets behind; they are ours to clean. */
    private void cleanStale(Supervisor supervisor, Optional<MachineRecord> known) {
        if (!supervisor.stale()) {
            return;
        }
        host.log().progress("cleaning up after a forward keeper that is gone");
        supervisor.terminate(Duration.ZERO);
        known.ifPresent(r -> r.endpoints().stream()
                .filter(Endpoint.Unix.class::isInstance)
                .forEach(e -> SocketFile.removeIfSocket(((Endpoint.Unix) e).path())));
    }

    private LimaInstance ensureRunning(Template template, Optional<MachineRecord> known) {
        Optional<LimaInstance> instance = limactl.find(machine.name());
        if (instance.isEmpty()) {
            create(template);
        } else if (known.isEmpty()) {
            store.write(MachineRecord.fresh(machine.name(), false));
        }
        LimaInstance current = limactl.find(machine.name()).orElseThrow(() -> MachineException.toolFailed(
                "limactl create reported success, but limactl list does not show " + machine.name()));
        if (current.running()) {
            host.log().progress("the Lima instance " + machine.name() + " is running");
            return current;
        }
        if (current.broken()) {
            host.log().progress("the Lima instance " + machine.name() + " is Broken; stopping it with -f first");
            limactl.stop(machine.name(), true, deadline.remaining());
        }
        deadline.phase("starting the Lima instance " + machine.name());
        limactl.start(machine.name(), deadline.remaining());
        deadline.done("started the Lima instance " + machine.name());
        return limactl.find(machine.name()).filter(LimaInstance::running).orElseThrow(() ->
                MachineException.toolFailed("limactl start reported success, but " + machine.name() + " is not Running"));
    }

    private void create(Template template) {
        template.minimumLimaVersion().ifPresent(limactl::requireAtLeast);
        deadline.phase("creating the Lima instance " + machine.name() + " from " + template.source());
        try {
            limactl.create(machine.name(), template, options.resources(), deadline.remaining());
        } catch (MachineException e) {
            // Lima may leave a half-made instance behind; it is ours, so it goes.
            limactl.find(machine.name()).ifPresent(i -> limactl.delete(machine.name(), true, deadline.remaining()));
            throw e;
        }
        store.write(MachineRecord.fresh(machine.name(), true));
        deadline.done("created the Lima instance " + machine.name());
    }

    private String awaitGuestSocket(GuestDaemon daemon) {
        deadline.phase("finding buildkitd's socket in the guest");
        while (true) {
            Optional<String> socket = daemon.findSocket();
            if (socket.isPresent()) {
                deadline.done("buildkitd's socket is " + socket.get());
                return socket.get();
            }
            if (deadline.expired()) {
                throw deadline.timedOut("no buildkitd socket appeared in the guest; buildkitd's log ends with:\n"
                        + daemon.logTail());
            }
            deadline.pause(SOCKET_POLL_MS);
        }
    }

    private Machine.Started detach(MachineRecord record, GuestDaemon daemon, Supervisor supervisor) {
        Optional<MachineRecord> before = store.read(machine.name());
        boolean reuse = supervisor.running().isPresent() && before.equals(Optional.of(record));
        if (!reuse) {
            supervisor.terminate(Duration.ofSeconds(5));
            store.write(record);
        }
        deadline.phase("opening " + describe(record.endpoints()));
        if (!reuse) {
            supervisor.launch();
        }
        Thread cleanup = new Thread(() -> supervisor.terminate(Duration.ofSeconds(3)));
        if (!reuse) {
            Runtime.getRuntime().addShutdownHook(cleanup);
        }
        try {
            List<Worker> workers = awaitAnswers(record, daemon);
            return new Machine.Started(machine.name(), record.endpoints(), workers, null);
        } catch (MachineException e) {
            if (!reuse) {
                supervisor.terminate(Duration.ofSeconds(3));
            }
            throw e;
        } finally {
            removeHook(cleanup, reuse);
        }
    }

    private static void removeHook(Thread hook, boolean reuse) {
        if (reuse) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // Already running because the user pressed Ctrl-C: the hook does its work.
        }
    }

    /** The caller's forward is not remembered: it lives only as long as the caller, unlike a keeper's. */
    private Machine.Started attach(MachineRecord record, GuestDaemon daemon) {
        MachineRecord remembered = store.read(machine.name()).orElseThrow();
        store.write(remembered.forwarding(remembered.endpoints(), record.guestSocket(), record.sshConfig()));
        deadline.phase("opening " + describe(record.endpoints()));
        Forward forward = ForwardProcess.open(host, record, null);
        try {
            List<Worker> workers = awaitAnswers(record, daemon);
            return new Machine.Started(machine.name(), record.endpoints(), workers, forward);
        } catch (RuntimeException e) {
            forward.close();
            throw e;
        }
    }

    private List<Worker> awaitAnswers(MachineRecord record, GuestDaemon daemon) {
        deadline.phase("waiting for buildkitd to answer through " + describe(record.endpoints()));
        List<Worker> workers = List.of();
        for (Endpoint endpoint : record.endpoints()) {
            workers = Readiness.await(endpoint, deadline, host.log(),
                    () -> "buildkitd's log in the guest ends with:\n" + daemon.logTail());
        }
        deadline.done("buildkitd answers");
        return workers;
    }

    private static String describe(List<Endpoint> endpoints) {
        return String.join(", ", endpoints.stream().map(Endpoint::buildkitHost).toList());
    }
}
