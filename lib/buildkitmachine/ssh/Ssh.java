package buildkitmachine.ssh;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import buildkitmachine.exec.WriterStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.zeroturnaround.exec.ProcessExecutor;

/** The OpenSSH client, for commands in a guest and for the forwards that carry buildkitd's socket to the host. */
public final class Ssh {
    /** Seconds to wait for a TCP connect: enough for any working network, short enough to try again soon. */
    private static final String CONNECT_TIMEOUT = "ConnectTimeout=3";
    /** What the forward's session runs in the guest: nothing but waiting (a sleep GNU and busybox both take). */
    private static final String HOLD_SESSION = "exec sleep 2147483647";

    private final Program program;
    private final Host host;

    public Ssh(Host host) {
        this.host = host;
        this.program = new Program("ssh",
                "install OpenSSH's client: it ships with macOS; on Debian or Ubuntu 'apt-get install openssh-client'",
                host);
    }

    /** The program itself, to check that it is installed. */
    public Program program() {
        return program;
    }

    /**
     * Runs a script of the toolkit's own in the guest. Only constant scripts go here: the remote side hands the string
     * to a shell, so nothing a user typed may be part of it (user arguments go through {@link ShellQuote}).
     */
    public Program.Result exec(SshTarget target, String script, Duration timeout) {
        return exec(target, script, null, timeout);
    }

    /** Runs a constant script with these bytes on its stdin: how files reach the guest without a shared folder. */
    public Program.Result exec(SshTarget target, String script, byte[] stdin, Duration timeout) {
        List<String> args = new ArrayList<>(List.of("-o", "BatchMode=yes", "-o", CONNECT_TIMEOUT));
        args.addAll(target.args());
        args.add("--");
        args.add(script);
        return program.run(args, stdin, timeout);
    }

    /** Runs a constant script and streams its output to the writers until it ends; returns its exit code. */
    public int stream(SshTarget target, String script, PrintWriter out, PrintWriter err) {
        List<String> args = new ArrayList<>(List.of("-o", "BatchMode=yes", "-o", CONNECT_TIMEOUT));
        args.addAll(target.args());
        args.add("--");
        args.add(script);
        return program.stream(args, null, out, err);
    }

    /** The full command line of a forward that lives exactly as long as its own ssh process. */
    public List<String> forwardCommand(SshTarget target, List<String> localForwards) {
        List<String> args = new ArrayList<>(List.of(
                // Lima's config joins the host agent's master connection, where a forward would outlive this
                // process and could not be closed by ending it; a forward of our own needs its own connection.
                "-o", "ControlMaster=no", "-o", "ControlPath=none",
                "-o", "BatchMode=yes",
                "-o", "ExitOnForwardFailure=yes",
                // A dead connection (sleep, network change) ends ssh within seconds, so the forward is re-made;
                // a connect into a network that is down gives up soon, so the next try sees it come back.
                "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3", "-o", CONNECT_TIMEOUT,
                // The socket is usable by its owner only; a stale one of ours is replaced.
                "-o", "StreamLocalBindMask=0177", "-o", "StreamLocalBindUnlink=yes",
                // Build contexts are bulk: AES-GCM (AES-NI, ARMv8 crypto) encrypts them faster than OpenSSH's
                // first choice, ChaCha20; '^' only moves it first, so a host that refuses it still connects.
                "-o", "Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com", "-o", "Compression=no",
                // A session with a terminal instead of -N: sshd turns Nagle's algorithm off (TCP_NODELAY) only for
                // sessions with a terminal, and without it each small gRPC reply waits for the client's delayed
                // ACK, about 40 ms a round trip. The terminal also makes sshd hang up the remote sleep when the
                // connection ends. No escape character: nothing is typed into this session.
                "-tt", "-e", "none"));
        for (String forward : localForwards) {
            args.add("-L");
            args.add(forward);
        }
        args.addAll(target.args());
        args.add("--");
        args.add(HOLD_SESSION);
        return program.command(args);
    }

    /**
     * Runs a command in the guest for the user and returns its exit code, which the caller passes through. On a
     * terminal ssh gets the terminal itself (a shell needs it, and zt-exec offers only pipes); elsewhere its output
     * goes to the given writers.
     */
    public int interactive(SshTarget target, List<String> userCommand, PrintWriter out, PrintWriter err) {
        boolean terminal = System.console() != null;
        List<String> args = new ArrayList<>();
        if (userCommand.isEmpty() && terminal) {
            args.add("-t");
        }
        args.addAll(target.args());
        if (!userCommand.isEmpty()) {
            args.add("--");
            args.add(ShellQuote.join(userCommand));
        }
        List<String> command = program.command(args);
        host.log().debug("run: " + String.join(" ", command));
        try {
            return terminal ? onTerminal(command) : throughWriters(command, out, err);
        } catch (IOException e) {
            throw MachineException.toolFailed("could not run ssh: " + e.getMessage());
        } catch (InterruptedException e) {
            throw MachineException.interrupted("waiting for ssh");
        }
    }

    private int onTerminal(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().clear();
        builder.environment().putAll(host.env());
        return builder.start().waitFor();
    }

    private int throughWriters(List<String> command, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        try (WriterStream stdout = new WriterStream(out); WriterStream stderr = new WriterStream(err)) {
            return new ProcessExecutor(command)
                    .environment(host.env())
                    .redirectInput(System.in)
                    .redirectOutput(stdout)
                    .redirectError(stderr)
                    .execute()
                    .getExitValue();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("ssh has no timeout here", e);
        }
    }
}
