package buildkitmachine.ssh;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The OpenSSH client, for commands in a guest and for the forwards that carry buildkitd's socket to the host. */
public final class Ssh {
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
        List<String> args = new ArrayList<>(List.of("-o", "BatchMode=yes"));
        args.addAll(target.args());
        args.add("--");
        args.add(script);
        return program.run(args, timeout);
    }

    /** The full command line of a forward that lives exactly as long as its own ssh process. */
    public List<String> forwardCommand(SshTarget target, List<String> localForwards) {
        List<String> args = new ArrayList<>(List.of(
                // Lima's config joins the host agent's master connection, where a forward would outlive this
                // process and could not be closed by ending it; a forward of our own needs its own connection.
                "-o", "ControlMaster=no", "-o", "ControlPath=none",
                "-o", "BatchMode=yes",
                "-o", "ExitOnForwardFailure=yes",
                // A dead connection (sleep, network change) ends ssh within seconds, so the forward is re-made.
                "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3",
                // The socket is usable by its owner only; a stale one of ours is replaced.
                "-o", "StreamLocalBindMask=0177", "-o", "StreamLocalBindUnlink=yes",
                "-N"));
        for (String forward : localForwards) {
            args.add("-L");
            args.add(forward);
        }
        args.addAll(target.args());
        return program.command(args);
    }

    /**
     * Runs a command in the guest attached to the user's terminal and returns its exit code. This one bypasses
     * zt-exec on purpose: an interactive shell needs the real terminal, not pipes.
     */
    public int interactive(SshTarget target, List<String> userCommand) {
        List<String> args = new ArrayList<>();
        if (userCommand.isEmpty() && System.console() != null) {
            args.add("-t");
        }
        args.addAll(target.args());
        if (!userCommand.isEmpty()) {
            args.add("--");
            args.add(ShellQuote.join(userCommand));
        }
        List<String> command = program.command(args);
        host.log().debug("run: " + String.join(" ", command));
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().clear();
        builder.environment().putAll(host.env());
        try {
            return builder.start().waitFor();
        } catch (IOException e) {
            throw MachineException.toolFailed("could not run ssh: " + e.getMessage());
        } catch (InterruptedException e) {
            throw MachineException.interrupted("waiting for ssh");
        }
    }
}
