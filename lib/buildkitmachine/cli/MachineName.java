package buildkitmachine.cli;

import buildkitmachine.machine.Machine;
import picocli.CommandLine.Parameters;

/** The optional machine name most commands take first. */
final class MachineName {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", defaultValue = Machine.DEFAULT_NAME,
            description = "The machine (and its Lima instance); default: ${DEFAULT-VALUE}.")
    String value;
}
