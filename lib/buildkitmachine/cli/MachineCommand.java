package buildkitmachine.cli;

import buildkitmachine.Host;
import buildkitmachine.machine.Machine;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What every command shares: the verbosity options, the host, the writers, and JSON output. */
abstract class MachineCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    Verbosity verbosity;

    @ParentCommand
    BuildkitMachineCommand parent;

    @Spec
    CommandSpec spec;

    Host host() {
        return parent.cli.host(err(), verbosity.level());
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

    /** Prints one value as compact JSON on a line of its own. */
    void printJson(Object value) {
        try {
            out().println(JSON.writeValueAsString(value));
            out().flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /** The line that points buildctl at an address, for {@code eval}. */
    static String exportLine(String buildkitHost) {
        return "export BUILDKIT_HOST=" + buildkitmachine.ssh.ShellQuote.quote(buildkitHost);
    }
}
