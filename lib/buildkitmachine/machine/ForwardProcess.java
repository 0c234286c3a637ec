package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.ssh.Ssh;
import buildkitmachine.ssh.SshTarget;
import buildkitmachine.tls.TlsProxy;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        Forward forward = open(host, record, new Supervisor(host, folder, Supervisor.FORWARD).stateFile());
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

    /** Opens the forward that a machine record describes, with the TLS side of TLS endpoints. */
    static Forward open(Host host, MachineRecord record, Path stateFile) {
        SshTarget target = SshTarget.fromArgs(record.ssh());
        List<String> forwards = record.endpoints().stream().map(e -> e.sshForward(record.guestSocket())).toList();
        List<String> command = new Ssh(host).forwardCommand(target, forwards);
        List<Path> sockets = new ArrayList<>();
        List<AutoCloseable> proxies = new ArrayList<>();
        for (Endpoint endpoint : record.endpoints()) {
            if (endpoint instanceof Endpoint.Unix unix) {
                sockets.add(unix.path());
            } else if (endpoint instanceof Endpoint.Tcp tcp && tcp.tls() != null) {
                sockets.add(tcp.proxySocket());
                proxies.add(TlsProxy.open(tcp.host(), tcp.port(), tcp.tlsFiles().orElseThrow(), tcp.proxySocket(),
                        host.log()));
            }
        }
        return Forward.open(command, host.env(), record.endpoints(), sockets, proxies, stateFile, host.log());
    }
}
