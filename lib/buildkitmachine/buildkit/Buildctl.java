package buildkitmachine.buildkit;

import buildkitmachine.Host;
import buildkitmachine.exec.Program;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** BuildKit's client, run against an endpoint of a machine. */
public final class Buildctl {
    private final Program program;
    private final String buildkitHost;

    public Buildctl(Host host, String buildkitHost) {
        this.program = new Program("buildctl",
                "install BuildKit's client: 'brew install buildkit' on macOS, or take buildctl from a BuildKit release",
                host);
        this.buildkitHost = buildkitHost;
    }

    /** The program itself, to check that it is installed. */
    public Program program() {
        return program;
    }

    /** Runs {@code buildctl --addr HOST ARGS…} and returns what it did, whatever its exit code. */
    public Program.Result run(List<String> args, Duration timeout) {
        List<String> full = new ArrayList<>(List.of("--addr", buildkitHost));
        full.addAll(args);
        return program.run(full, timeout);
    }
}
