package buildkitmachine.cli;

import buildkitmachine.Host;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.ssh.ShellQuote;
import buildkitmachine.tls.TlsFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every command shares: the verbosity options, the host, the writers, and JSON output. */
abstract class MachineCommand implements Callable<Integer> {
    /** Jackson's mapper, made on first use: making it takes about 40 ms, which commands without JSON never pay. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();

        private Json() {
        }
    }

    @Mixin
    Verbosity verbosity;

    @Spec
    CommandSpec spec;

    Host host() {
        return cli().host(err(), verbosity.level());
    }

    /** The command line this command runs in, found at the root of picocli's tree (commands may nest). */
    Cli cli() {
        return ((BuildkitMachineCommand) spec.root().userObject()).cli;
    }

    Machine machine(String name) {
        return Machine.named(host(), name);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /**
     * The positional words the user typed before {@code --}: picocli hands over those after it in the same list, so
     * the command line as typed tells them apart.
     */
    List<String> beforeDashes(List<String> positionals) {
        List<String> typed = spec.commandLine().getParseResult().originalArgs();
        int dashes = typed.indexOf("--");
        if (dashes < 0) {
            return positionals;
        }
        int after = typed.size() - dashes - 1;
        return positionals.subList(0, Math.max(0, positionals.size() - after));
    }

    /** Prints one value as compact JSON on a line of its own. */
    void printJson(Object value) {
        try {
            out().println(Json.MAPPER.writeValueAsString(value));
            out().flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /** The line that points buildctl at an address, for {@code eval}. */
    static String exportLine(String buildkitHost) {
        return "export BUILDKIT_HOST=" + ShellQuote.quote(buildkitHost);
    }

    /** The TLS material of the first TLS endpoint, if any. */
    static Optional<TlsFiles> tlsOf(List<Endpoint> endpoints) {
        return endpoints.stream().filter(Endpoint.Tcp.class::isInstance)
                .flatMap(e -> ((Endpoint.Tcp) e).tlsFiles().stream()).findFirst();
    }

    /**
     * Prints what points buildctl at the machine: BUILDKIT_HOST for {@code eval}, and for a TLS endpoint a comment
     * with the client's flags (buildctl reads TLS settings from flags only).
     */
    void printEnv(List<Endpoint> endpoints) {
        Endpoint first = endpoints.get(0);
        out().println(exportLine(first.buildkitHost()));
        if (first instanceof Endpoint.Tcp tcp) {
            tcp.tlsFiles().ifPresent(t -> out().println("# buildctl --addr " + first.buildkitHost() + " "
                    + ShellQuote.join(t.buildctlFlags())));
        }
        out().flush();
    }
}
