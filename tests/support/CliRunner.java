package support;

import buildkitmachine.cli.Cli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/** Runs the command line in-process with an environment of the test's own and captures what it prints. */
public final class CliRunner {
    private final Map<String, String> env;
    private final Path workingFolder;

    public CliRunner(Map<String, String> env, Path workingFolder) {
        this.env = Map.copyOf(env);
        this.workingFolder = workingFolder;
    }

    /** A runner with these variables added to the environment. */
    public CliRunner with(Map<String, String> more) {
        Map<String, String> merged = new HashMap<>(env);
        merged.putAll(more);
        return new CliRunner(merged, workingFolder);
    }

    /** The environment commands see. */
    public Map<String, String> env() {
        return env;
    }

    /** Runs one command. */
    public Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new Cli(env, workingFolder).run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Deletes every machine of a state folder, then ends any keeper the tool lost track of (ours: we ran it). */
    public void deleteMachines(Path home) {
        try (Stream<Path> machines = Files.list(home)) {
            for (Path folder : machines.filter(Files::isDirectory).toList()) {
                run("delete", "--force", "-q", folder.getFileName().toString());
                for (Processes.Proc keeper : Processes.keepers(folder)) {
                    ProcessHandle.of(keeper.pid()).ifPresent(p -> {
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                    });
                }
            }
        } catch (NoSuchFileException nothingStarted) {
            // No machine was made.
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs one command with its stdout going to {@code live} as it comes, for commands that keep running. */
    public Run run(StringWriter live, String... args) {
        StringWriter err = new StringWriter();
        int code = new Cli(env, workingFolder).run(new PrintWriter(live), new PrintWriter(err), args);
        return new Run(code, live.toString(), err.toString());
    }

    /** What one command did. */
    public record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }
}
