package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.ClassArchive;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts, finds and ends one detached process of a machine: the keeper of its forward, or (local driver) its
 * buildkitd. The process is remembered as a {@link ProcessId} in {@code ROLE.pid} and writes to {@code ROLE.log}.
 */
public final class Supervisor {
    /** The keeper of a machine's ssh forward. */
    public static final String FORWARD = "forward";
    /** A buildkitd the local driver runs. */
    public static final String DAEMON = "daemon";

    /**
     * JVM options that keep the idle keeper small; it mostly waits on ssh. Each was kept because the benchmark's
     * footprint part showed it: a small heap with a 1 MiB young generation that gives memory back soon (1.4 MiB
     * less), small stacks, one client compiler with a small code cache, no perf data file, and (in the
     * environment) one malloc arena instead of one per thread.
     */
    private static final List<String> SMALL_JVM = List.of(
            "-Xms2m", "-Xmx16m", "-Xmn1m", "-XX:MinHeapFreeRatio=5", "-XX:MaxHeapFreeRatio=20", "-Xss256k",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:ReservedCodeCacheSize=8m",
            "-XX:-UsePerfData");
    private static final Map<String, String> SMALL_MALLOC = Map.of("MALLOC_ARENA_MAX", "1");

    private final Host host;
    private final Path folder;
    private final String role;

    public Supervisor(Host host, Path folder, String role) {
        this.host = host;
        this.folder = folder;
        this.role = role;
    }

    /** The file where the keeper reports its forward's state. */
    Path stateFile() {
        return folder.resolve(role + ".json");
    }

    /** The process's log. */
    public Path logFile() {
        return folder.resolve(role + ".log");
    }

    private Path pidFile() {
        return folder.resolve(role + ".pid");
    }

    /** The running process, if there is one. */
    public Optional<ProcessHandle> running() {
        Path file = pidFile();
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return ProcessId.parse(Files.readString(file)).flatMap(ProcessId::find);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether a PID file is left by a process that is gone (killed, or the computer restarted). */
    public boolean stale() {
        return Files.exists(pidFile()) && running().isEmpty();
    }

    /** Starts the forward keeper of the machine in this folder, keeping the forward the record describes. */
    public ProcessHandle launchForwardKeeper(MachineRecord record) {
        List<String> command = new ArrayList<>(List.of(javaExecutable()));
        command.addAll(SMALL_JVM);
        try {
            command.addAll(keeperArchive(host).jvmOptions());
        } catch (IOException e) {
            throw MachineException.state("cannot create a temporary file: " + e.getMessage()
                    + "; check that the temporary folder is writable and the disk is not full");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ForwardProcess.class.getName()));
        command.addAll(ForwardProcess.arguments(record, folder));
        return launch(command, SMALL_MALLOC);
    }

    /**
     * A constant script that starts its arguments detached, output appended to the file named first, and prints the
     * PID. The shell exits at once: a child this JVM waited on would hold its exit back by a third of a second (the
     * JVM waits for its process reaper, blocked in waitpid, before it exits).
     */
    static final String DETACH = "log=$1; shift; \"$@\" </dev/null >>\"$log\" 2>&1 & echo $!";

    /** Starts a command detached from this process and its terminal, and records its PID. */
    public ProcessHandle launch(List<String> command, Map<String, String> extraEnv) {
        List<String> detached = new ArrayList<>(List.of("/bin/sh", "-c", DETACH, "sh", logFile().toString()));
        // A new session has no controlling terminal, so closing the terminal sends it no SIGHUP; macOS has no
        // setsid command, and nohup covers that case.
        Program.findOnPath("setsid", host.env().getOrDefault("PATH", "")).ifPresent(p -> detached.add(p.toString()));
        detached.add("nohup");
        detached.addAll(command);
        host.log().debug("run: " + String.join(" ", detached));
        ProcessBuilder builder = new ProcessBuilder(detached).redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(host.env());
        builder.environment().putAll(extraEnv);
        try {
            Process shell = builder.start();
            String printed = new String(shell.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            shell.waitFor();
            long pid = Long.parseLong(printed);
            Optional<ProcessHandle> handle = ProcessHandle.of(pid);
            // A command that ended at once is remembered as gone; the wait for it then shows its log.
            Files.writeString(pidFile(), handle.map(ProcessId::of).orElse(new ProcessId(pid, 0)) + "\n");
            return handle.orElse(null);
        } catch (IOException | NumberFormatException e) {
            throw MachineException.internal("cannot start " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            throw MachineException.interrupted("starting " + command.get(0));
        }
    }

    /**
     * The class data archive of keepers, shared by all machines. Until it exists, a keeper records the classes it
     * loads and makes it from them (see {@link ForwardProcess}); later keepers start from it, sooner and smaller
     * than from the JDK's own archive.
     */
    static ClassArchive keeperArchive(Host host) {
        return ClassArchive.of(host.stateHome().resolve(ClassArchive.FOLDER), "keeper", Path.of(javaExecutable()),
                System.getProperty("java.class.path"));
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * Ends the process and every process it started, waiting for them to exit; then ends an ssh that a keeper
     * killed with SIGKILL may have left behind.
     */
    public void terminate(Duration grace) {
        running().ifPresent(process -> {
            List<ProcessHandle> descendants = process.descendants().toList();
            end(process, grace, "the " + role + " process");
            descendants.stream().filter(ProcessHandle::isAlive).forEach(p -> end(p, grace, "a child process"));
        });
        state().map(ForwardState::ssh).flatMap(ProcessId::find).ifPresent(orphan -> {
            host.log().progress("ending the ssh forward (PID " + orphan.pid() + ") left by a keeper that is gone");
            end(orphan, Duration.ofSeconds(2), "the ssh forward");
        });
        forgetPid(pidFile(), -1);
    }

    private void end(ProcessHandle process, Duration grace, String what) {
        process.destroy();
        try {
            process.onExit().get(Math.max(1, grace.toMillis()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            host.log().warn(what + " (PID " + process.pid() + ") did not exit in time; killing it");
            process.destroyForcibly();
        }
    }

    /** Removes a PID file; when {@code pid} is not -1, only if it still names that process. */
    static void forgetPid(Path file, long pid) {
        try {
            if (pid == -1 || (Files.exists(file) && Files.readString(file).startsWith(pid + " "))) {
                Files.deleteIfExists(file);
            }
        } catch (IOException ignored) {
            // A PID file that cannot be removed is found stale and cleaned by the next command.
        }
    }

    /** The forward keeper's PID file in a machine folder. */
    static Path forwardPidFile(Path folder) {
        return folder.resolve(FORWARD + ".pid");
    }

    /** What the keeper last reported, if it ever wrote anything. */
    public Optional<ForwardState> state() {
        Path file = stateFile();
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(RecordReader.forwardState(file));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
