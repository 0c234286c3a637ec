package buildkitmachine.exec;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.zeroturnaround.exec.ProcessExecutor;
import org.zeroturnaround.exec.ProcessResult;
import org.zeroturnaround.exec.StartedProcess;

/**
 * One external program the toolkit drives (limactl, ssh, buildctl): found on the host's PATH, run with an argument
 * array (never a shell string) and a timeout, and turned into one clear error when it is missing or fails.
 */
public final class Program {
    private final String name;
    private final String installHint;
    private final Host host;

    public Program(String name, String installHint, Host host) {
        this.name = name;
        this.installHint = installHint;
        this.host = host;
    }

    /** The program's name as run, e.g. {@code limactl}. */
    public String name() {
        return name;
    }

    /** The executable: the name itself when it is a path, else found on the host's PATH. */
    public Optional<Path> find() {
        if (name.contains("/")) {
            return Optional.of(Path.of(name)).filter(Files::isExecutable);
        }
        return findOnPath(name, host.env().getOrDefault("PATH", ""));
    }

    /** The executable, or a missing-tool error that says how to install it. */
    public Path require() {
        return find().orElseThrow(() -> MachineException.missingTool(
                name + " was not found on PATH; " + installHint));
    }

    /** Finds an executable by name in a PATH-style list of folders. */
    public static Optional<Path> findOnPath(String name, String path) {
        for (String folder : path.split(File.pathSeparator)) {
            if (folder.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(folder, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Runs the program and returns its result whatever its exit code. */
    public Result run(List<String> args, Duration timeout) {
        return run(args, null, timeout);
    }

    /** Runs the program with the given bytes on its standard input. */
    public Result run(List<String> args, byte[] stdin, Duration timeout) {
        List<String> command = command(args);
        host.log().debug("run: " + String.join(" ", command));
        var stderr = new ByteArrayOutputStream();
        ProcessExecutor executor = new ProcessExecutor(command)
                .environment(host.env())
                .readOutput(true)
                .redirectError(stderr)
                // An empty stdin, so that no child ever waits on the user's terminal.
                .redirectInput(stdin == null ? InputStream.nullInputStream() : new ByteArrayInputStream(stdin));
        StartedProcess started = null;
        try {
            started = executor.start();
            Children.track(started.getProcess());
            ProcessResult result = started.getFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Result(command, result.getExitValue(), result.outputUTF8(),
                    stderr.toString(StandardCharsets.UTF_8));
        } catch (TimeoutException e) {
            started.getProcess().destroy();
            throw MachineException.toolFailed(
                    name + " did not finish within " + timeout.toSeconds() + "s: " + String.join(" ", command));
        } catch (InterruptedException e) {
            throw MachineException.interrupted("waiting for " + name);
        } catch (ExecutionException | IOException e) {
            throw MachineException.toolFailed("could not run " + name + ": " + e.getMessage());
        }
    }

    /**
     * Runs the program for the user, as if they had run it themselves: its output goes to the writers as it comes
     * and its exit code is returned for the caller to pass through. No timeout: the user ends it with Ctrl-C, which
     * ends it too. Its stdin is empty, so that it never competes with the user's terminal. A null folder is this
     * process's own.
     */
    public int stream(List<String> args, Path folder, PrintWriter out, PrintWriter err) {
        List<String> command = command(args);
        host.log().debug("run: " + String.join(" ", command));
        StartedProcess started = null;
        try (WriterStream stdout = new WriterStream(out); WriterStream stderr = new WriterStream(err)) {
            started = new ProcessExecutor(command)
                    .environment(host.env())
                    .directory(folder == null ? null : folder.toFile())
                    .redirectInput(InputStream.nullInputStream())
                    .redirectOutput(stdout)
                    .redirectError(stderr)
                    .start();
            Children.track(started.getProcess());
            return started.getFuture().get().getExitValue();
        } catch (InterruptedException e) {
            if (started != null) {
                started.getProcess().destroy();
            }
            throw MachineException.interrupted("waiting for " + name);
        } catch (ExecutionException | IOException e) {
            throw MachineException.toolFailed("could not run " + name + ": " + e.getMessage());
        }
    }

    /** Runs the program and returns its stdout, or fails with its exit code and the tail of its stderr. */
    public String check(List<String> args, Duration timeout) {
        return run(args, timeout).orFail().stdout();
    }

    /** The full command line: the resolved executable, then the arguments. */
    public List<String> command(List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(require().toString());
        command.addAll(args);
        return command;
    }

    /** What a finished run left behind. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {
        /** Whether the program exited with 0. */
        public boolean ok() {
            return exitCode == 0;
        }

        /** This result when it succeeded, else the one-line error that names the program, code and stderr tail. */
        public Result orFail() {
            if (!ok()) {
                throw MachineException.toolFailed(describeFailure());
            }
            return this;
        }

        /** "limactl start buildkit exited with 1: last stderr line". */
        public String describeFailure() {
            String program = Path.of(command.get(0)).getFileName().toString();
            String shown = program + (command.size() > 1 ? " " + command.get(1) : "");
            return shown + " exited with " + exitCode + ": " + tail(stderr, 3);
        }
    }

    /** The last non-blank lines of some output, joined into one line. */
    public static String tail(String output, int lines) {
        List<String> kept = new ArrayList<>();
        for (String line : output.strip().split("\\R")) {
            if (!line.isBlank()) {
                kept.add(line.strip());
            }
        }
        if (kept.isEmpty()) {
            return "(no output)";
        }
        return String.join(" | ", kept.subList(Math.max(0, kept.size() - lines), kept.size()));
    }
}
