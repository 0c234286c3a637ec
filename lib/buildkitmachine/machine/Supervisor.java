package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Starts, finds and ends the detached {@link ForwardProcess} of a machine, remembered as a {@link ProcessId}. */
public final class Supervisor {
    static final String PID_FILE = "forward.pid";
    static final String STATE_FILE = "forward.json";
    static final String LOG_FILE = "forward.log";

    /** JVM options that keep the idle keeper small; it only waits on ssh. */
    private static final List<String> SMALL_JVM = List.of(
            "-Xmx16m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
            "-XX:ReservedCodeCacheSize=16m", "-Xshare:auto");

    private final Host host;
    private final Path folder;

    public Supervisor(Host host, Path folder) {
        this.host = host;
        this.folder = folder;
    }

    /** The running keeper, if there is one. */
    public Optional<ProcessHandle> running() {
        Path file = folder.resolve(PID_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return ProcessId.parse(Files.readString(file)).flatMap(ProcessId::find);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether a PID file is left by a keeper that is gone (killed, or the computer restarted). */
    public boolean stale() {
        return Files.exists(folder.resolve(PID_FILE)) && running().isEmpty();
    }

    /** Starts the keeper detached from this process and its terminal, and records its PID. */
    public ProcessHandle launch() {
        List<String> command = command();
        host.log().debug("run: " + String.join(" ", command));
        // ProcessBuilder rather than zt-exec: the keeper must write to its own log file, not to pipes that end
        // when this process exits.
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.resolve(LOG_FILE).toFile()))
                .redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(host.env());
        try {
            Process process = builder.start();
            ProcessHandle handle = process.toHandle();
            Files.writeString(folder.resolve(PID_FILE), ProcessId.of(handle) + "\n");
            return handle;
        } catch (IOException e) {
            throw MachineException.internal("cannot start the forward keeper: " + e.getMessage(), e);
        }
    }

    private List<String> command() {
        List<String> command = new ArrayList<>();
        // A new session has no controlling terminal, so closing the terminal sends it no SIGHUP; macOS has no
        // setsid command, and nohup covers that case.
        Program.findOnPath("setsid", host.env().getOrDefault("PATH", "")).ifPresent(p -> command.add(p.toString()));
        command.add("nohup");
        command.add(javaExecutable());
        command.addAll(SMALL_JVM);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ForwardProcess.class.getName());
        command.add(folder.toString());
        return command;
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * Ends the keeper (it closes the forward and removes its sockets), waiting for it to exit; then ends an ssh that
     * a keeper killed with SIGKILL may have left behind.
     */
    public void terminate(Duration grace) {
        running().ifPresent(process -> end(process, grace, "the forward keeper"));
        state().map(ForwardState::ssh).flatMap(ProcessId::find).ifPresent(orphan -> {
            host.log().progress("ending the ssh forward (PID " + orphan.pid() + ") left by a keeper that is gone");
            end(orphan, Duration.ofSeconds(2), "the ssh forward");
        });
        forgetPid(folder, -1);
    }

    private void end(ProcessHandle process, Duration grace, String what) {
        process.destroy();
        try {
            process.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            host.log().warn(what + " (PID " + process.pid() + ") did not exit in time; killing it");
            process.destroyForcibly();
        }
    }

    /** Removes the PID file; when {@code pid} is not -1, only if it still names that process. */
    static void forgetPid(Path folder, long pid) {
        Path file = folder.resolve(PID_FILE);
        try {
            if (pid == -1 || (Files.exists(file) && Files.readString(file).startsWith(pid + " "))) {
                Files.deleteIfExists(file);
            }
        } catch (IOException ignored) {
            // A PID file that cannot be removed is found stale and cleaned by the next command.
        }
    }

    /** What the keeper last reported, if it ever wrote anything. */
    public Optional<ForwardState> state() {
        Path file = folder.resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(MachineStore.JSON.readValue(file.toFile(), ForwardState.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
