package support;

import buildkitmachine.cli.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

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
