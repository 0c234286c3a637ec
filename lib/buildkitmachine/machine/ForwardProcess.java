package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.exec.ClassArchive;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The process that keeps a machine's endpoints open after {@code start} has returned. {@link Supervisor} starts it
 * detached from the terminal; it runs until it is sent SIGTERM by {@code stop}, then closes the forward and exits.
 */
public final class ForwardProcess {
    /** Long enough for start's readiness check, so that the classes of serving a request are recorded too. */
    private static final long ARCHIVE_DELAY_MS = 20_000;

    private ForwardProcess() {
    }

    /**
     * The keeper's arguments for a record's forward: the guest's socket, the endpoints, the ssh target, and last the
     * machine's folder. The keeper takes its forward from these rather than from machine.json, so that it never
     * loads Jackson: reading the record with it took most of the keeper's start (about 250 ms on a 2-core host)
     * and about a third of its resident memory.
     */
    static List<String> arguments(MachineRecord record, Path folder) {
        List<String> args = new ArrayList<>(List.of(record.guestSocket(), String.valueOf(record.endpoints().size())));
        for (Endpoint endpoint : record.endpoints()) {
            if (endpoint instanceof Endpoint.Unix unix) {
                args.addAll(List.of("unix", unix.path().toString()));
            } else if (endpoint instanceof Endpoint.Tcp tcp) {
                args.addAll(List.of("tcp", tcp.host(), String.valueOf(tcp.port()), tcp.tls() == null ? "" : tcp.tls()));
            }
        }
        args.add(String.valueOf(record.ssh().size()));
        args.addAll(record.ssh());
        args.add(folder.toString());
        return args;
    }

    /** Entry point: the arguments are those of {@link #arguments}; the last is the machine's folder. */
    public static void main(String[] args) throws InterruptedException {
        int at = 0;
        String guestSocket = args[at++];
        List<Endpoint> endpoints = new ArrayList<>();
        for (int n = Integer.parseInt(args[at++]); n > 0; n--) {
            if (args[at++].equals("unix")) {
                endpoints.add(new Endpoint.Unix(Path.of(args[at++])));
            } else {
                String tcpHost = args[at++];
                int port = Integer.parseInt(args[at++]);
                String tls = args[at++];
                endpoints.add(new Endpoint.Tcp(tcpHost, port, tls.isEmpty() ? null : tls));
            }
        }
        int sshCount = Integer.parseInt(args[at++]);
        List<String> ssh = List.of(args).subList(at, at + sshCount);
        Path folder = Path.of(args[at + sshCount]);
        Log log = new Log(new PrintWriter(System.err, true), Log.Level.NORMAL);
        Host host = Host.current(log);
        Forward forward = open(host, endpoints, guestSocket, ssh, folder,
                new Supervisor(host, folder, Supervisor.FORWARD).stateFile());
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            forward.close();
            Supervisor.forgetPid(Supervisor.forwardPidFile(folder), ProcessHandle.current().pid());
            ClassArchive.recordedClassList().ifPresent(ForwardProcess::deleteClassList);
            closed.countDown();
        }));
        log.progress("forwarding " + endpoints.stream().map(Endpoint::buildkitHost).toList() + " to " + guestSocket);
        ClassArchive.recordedClassList().ifPresent(classList -> {
            Thread archiver = new Thread(() -> makeArchive(host, classList), "class-archive");
            archiver.setDaemon(true);
            archiver.start();
        });
        closed.await();
    }

    /**
     * Once the forward has served its first requests, makes the keepers' class data archive from the classes this
     * keeper recorded, if no keeper has made it yet. It runs once per build of the toolkit, for about 1.5 s of CPU.
     */
    private static void makeArchive(Host host, Path classList) {
        ClassArchive archive = Supervisor.keeperArchive(host);
        try {
            Thread.sleep(ARCHIVE_DELAY_MS);
            if (!archive.exists()) {
                archive.make(List.of(classList));
                host.log().progress("made " + archive.file() + ", which later keepers start from");
            }
        } catch (IOException e) {
            host.log().warn("no class data archive for keepers: " + e.getMessage());
        } catch (InterruptedException e) {
            return;
        } finally {
            deleteClassList(classList);
        }
    }

    private static void deleteClassList(Path classList) {
        try {
            Files.deleteIfExists(classList);
        } catch (IOException ignored) {
            // A temporary file; the system clears its temporary folder in time.
        }
    }

    /**
     * Opens the forward that a machine record describes. Unix endpoints are ssh's own sockets; TCP endpoints are
     * served by a {@link TcpRelay} (with TLS where asked) in front of a socket of the forward in {@code folder}.
     */
    static Forward open(Host host, MachineRecord record, Path folder, Path stateFile) {
        return open(host, record.endpoints(), record.guestSocket(), record.ssh(), folder, stateFile);
    }

    private static Forward open(Host host, List<Endpoint> endpoints, String guestSocket, List<String> sshTarget,
            Path folder, Path stateFile) {
        List<String> forwards = new ArrayList<>();
        List<Path> sockets = new ArrayList<>();
        List<AutoCloseable> relays = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            Optional<Path> relay = endpoint instanceof Endpoint.Tcp tcp ? tcp.relaySocket(folder) : Optional.empty();
            if (relay.isPresent()) {
                Endpoint.Tcp tcp = (Endpoint.Tcp) endpoint;
                forwards.add(relay.get() + ":" + guestSocket);
                sockets.add(relay.get());
                relays.add(TcpRelay.open(tcp.host(), tcp.port(), tcp.tlsFiles().orElse(null), relay.get(),
                        host.log()));
            } else {
                forwards.add(endpoint.sshForward(guestSocket));
                if (endpoint instanceof Endpoint.Unix unix) {
                    sockets.add(unix.path());
                }
            }
        }
        List<String> command = new Ssh(host).forwardCommand(SshTarget.fromArgs(sshTarget), forwards);
        return Forward.open(command, host.env(), endpoints, sockets, relays, stateFile, host.log());
    }
}
