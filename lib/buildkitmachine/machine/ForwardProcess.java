package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import java.io.PrintWriter;
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
    private ForwardProcess() {
    }

    /** Entry point: the single argument is the machine's folder. */
    public static void main(String[] args) throws InterruptedException {
        Path folder = Path.of(args[0]);
        Log log = new Log(new PrintWriter(System.err, true), Log.Level.NORMAL);
        Host host = Host.current(log);
        MachineStore store = new MachineStore(folder.getParent());
        String name = folder.getFileName().toString();
        MachineRecord record = store.read(name)
                .orElseThrow(() -> MachineException.state("no machine.json in " + folder));
        Forward forward = open(host, record, folder, new Supervisor(host, folder, Supervisor.FORWARD).stateFile());
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            forward.close();
            Supervisor.forgetPid(Supervisor.forwardPidFile(folder), ProcessHandle.current().pid());
            closed.countDown();
        }));
        log.progress("forwarding " + record.endpoints().stream().map(Endpoint::buildkitHost).toList()
                + " to " + record.guestSocket());
        closed.await();
    }

    /**
     * Opens the forward that a machine record describes. Unix endpoints are ssh's own sockets; TCP endpoints are
     * served by a {@link TcpRelay} (with TLS where asked) in front of a socket of the forward in {@code folder}.
     */
    static Forward open(Host host, MachineRecord record, Path folder, Path stateFile) {
        List<String> forwards = new ArrayList<>();
        List<Path> sockets = new ArrayList<>();
        List<AutoCloseable> relays = new ArrayList<>();
        for (Endpoint endpoint : record.endpoints()) {
            Optional<Path> relay = endpoint instanceof Endpoint.Tcp tcp ? tcp.relaySocket(folder) : Optional.empty();
            if (relay.isPresent()) {
                Endpoint.Tcp tcp = (Endpoint.Tcp) endpoint;
                forwards.add(relay.get() + ":" + record.guestSocket());
                sockets.add(relay.get());
                relays.add(TcpRelay.open(tcp.host(), tcp.port(), tcp.tlsFiles().orElse(null), relay.get(),
                        host.log()));
            } else {
                forwards.add(endpoint.sshForward(record.guestSocket()));
                if (endpoint instanceof Endpoint.Unix unix) {
                    sockets.add(unix.path());
                }
            }
        }
        List<String> command = new Ssh(host).forwardCommand(SshTarget.fromArgs(record.ssh()), forwards);
        return Forward.open(command, host.env(), record.endpoints(), sockets, relays, stateFile, host.log());
    }
}
