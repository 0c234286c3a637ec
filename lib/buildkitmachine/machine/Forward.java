package buildkitmachine.machine;

import buildkitmachine.Log;
import buildkitmachine.MachineException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Keeps an {@code ssh -L} forward alive: when ssh ends (killed, the laptop slept, the network dropped) it is
 * started again within a second or two, until {@link #close()}. Closing ends ssh and removes the socket files it made.
 */
public final class Forward implements AutoCloseable {
    private static final long FIRST_DELAY_MS = 100;
    private static final long LONGEST_DELAY_MS = 1000;
    private static final long STEADY_MS = 10_000;

    private final List<String> command;
    private final Map<String, String> env;
    private final List<Endpoint> endpoints;
    private final List<Path> sockets;
    private final List<AutoCloseable> companions;
    private final Path stateFile;
    private final Log log;
    private final Thread keeper;
    private final Deque<String> stderrTail = new ArrayDeque<>();
    private volatile boolean closed;
    private volatile Process ssh;
    private int restarts;
    private volatile String lastError;

    private Forward(List<String> command, Map<String, String> env, List<Endpoint> endpoints, List<Path> sockets,
            List<AutoCloseable> companions, Path stateFile, Log log) {
        this.command = List.copyOf(command);
        this.env = env;
        this.endpoints = List.copyOf(endpoints);
        this.sockets = List.copyOf(sockets);
        this.companions = List.copyOf(companions);
        this.stateFile = stateFile;
        this.log = log;
        this.keeper = new Thread(this::keep, "forward-keeper");
        keeper.setDaemon(true);
    }

    /**
     * Starts keeping a forward. {@code stateFile}, when given, receives a {@link ForwardState} at every change.
     *
     * @param command the ssh command line that carries every endpoint
     * @param sockets the socket files ssh makes, removed at close
     * @param companions what serves endpoints on top of the forward (TLS), closed with it
     */
    public static Forward open(List<String> command, Map<String, String> env, List<Endpoint> endpoints,
            List<Path> sockets, List<AutoCloseable> companions, Path stateFile, Log log) {
        Forward forward = new Forward(command, env, endpoints, sockets, companions, stateFile, log);
        forward.keeper.start();
        return forward;
    }

    /** The endpoints this forward offers. */
    public List<Endpoint> endpoints() {
        return endpoints;
    }

    /** How many times ssh was started again. */
    public synchronized int restarts() {
        return restarts;
    }

    private void keep() {
        long delay = FIRST_DELAY_MS;
        while (!closed) {
            long began = System.currentTimeMillis();
            int code = runOnce();
            if (closed) {
                break;
            }
            String why = "ssh exited with " + code + ": " + lastLines();
            log.warn("forward ended (" + why + "); starting it again");
            delay = System.currentTimeMillis() - began > STEADY_MS
                    ? FIRST_DELAY_MS : Math.min(delay * 2, LONGEST_DELAY_MS);
            synchronized (this) {
                restarts++;
            }
            lastError = why;
            record("restarting");
            if (!pause(delay)) {
                break;
            }
        }
        record("closed");
    }

    /**
     * Runs ssh once, until it exits. This thread reads ssh's stderr itself until ssh closes it, then reaps it: no
     * threads of zt-exec's, whose three per run (a waiter and two stream pumps) cost the idle keeper memory.
     */
    private int runOnce() {
        try {
            log.debug("run: " + String.join(" ", command));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().clear();
            builder.environment().putAll(env);
            Process process = builder.start();
            ssh = process;
            if (closed) {
                process.destroy();
            }
            record("up");
            try (InputStream stderr = process.getErrorStream()) {
                stderr.transferTo(new LineTail());
            } catch (IOException closedByDestroy) {
                // ssh is ending; its exit code below says how.
            }
            return process.waitFor();
        } catch (IOException e) {
            synchronized (stderrTail) {
                stderrTail.add("cannot start ssh: " + e.getMessage());
            }
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private void record(String state) {
        if (stateFile == null) {
            return;
        }
        Process process = ssh;
        ProcessId sshId = process != null && process.isAlive() ? ProcessId.of(process.toHandle()) : null;
        ForwardState value = new ForwardState(ProcessHandle.current().pid(), state, restarts(), lastError,
                System.currentTimeMillis(), sshId);
        try {
            AtomicFile.write(stateFile, value.toJson().getBytes(StandardCharsets.UTF_8));
        } catch (MachineException e) {
            log.warn(e.getMessage());
        }
    }

    private String lastLines() {
        synchronized (stderrTail) {
            return stderrTail.isEmpty() ? "(no output)" : String.join(" | ", stderrTail);
        }
    }

    /** Ends ssh, stops restarting it, and removes the unix socket files of the endpoints. */
    @Override
    public void close() {
        closed = true;
        keeper.interrupt();
        Process process = ssh;
        if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            keeper.join(3000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (AutoCloseable companion : companions) {
            try {
                companion.close();
            } catch (Exception e) {
                log.warn("cannot close " + companion + ": " + e.getMessage());
            }
        }
        sockets.forEach(SocketFile::removeIfSocket);
    }

    /** Keeps the last few lines ssh wrote to stderr, to say why it ended. */
    private final class LineTail extends OutputStream {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            if (b != '\n') {
                line.write(b);
                return;
            }
            String text = line.toString(StandardCharsets.UTF_8).strip();
            line.reset();
            if (text.isEmpty()) {
                return;
            }
            log.debug("ssh: " + text);
            synchronized (stderrTail) {
                stderrTail.addLast(text);
                while (stderrTail.size() > 3) {
                    stderrTail.removeFirst();
                }
            }
        }
    }
}
