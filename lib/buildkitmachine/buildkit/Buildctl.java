package buildkitmachine.buildkit;

import buildkitmachine.Host;
import buildkitmachine.exec.Program;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** BuildKit's client, run against an endpoint of a machine, with the TLS flags the endpoint needs. */
public final class Buildctl {
    private final Program program;
    private final String buildkitHost;
    private final List<String> tlsFlags;

    public Buildctl(Host host, String buildkitHost) {
        this(host, buildkitHost, List.of());
    }

    public Buildctl(Host host, String buildkitHost, List<String> tlsFlags) {
        this.program = new Program("buildctl",
                "install BuildKit's client: 'brew install buildkit' on macOS, or take buildctl from a BuildKit release",
                host);
        this.buildkitHost = buildkitHost;
        this.tlsFlags = List.copyOf(tlsFlags);
    }

    /** The program itself, to check that it is installed. */
    public Program program() {
        return program;
    }

    /** The address buildctl is pointed at. */
    public String buildkitHost() {
        return buildkitHost;
    }

    /** Runs {@code buildctl --addr HOST [TLS…] ARGS…} and returns what it did, whatever its exit code. */
    public Program.Result run(List<String> args, Duration timeout) {
        return program.run(withAddress(args), timeout);
    }

    /** Runs buildctl for the user in {@code folder}, its output streamed to the writers; returns its exit code. */
    public int stream(List<String> args, Path folder, PrintWriter out, PrintWriter err) {
        return program.stream(withAddress(args), folder, out, err);
    }

    private List<String> withAddress(List<String> args) {
        List<String> full = new ArrayList<>(List.of("--addr", buildkitHost));
        full.addAll(tlsFlags);
        full.addAll(args);
        return full;
    }
}
