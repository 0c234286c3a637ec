package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.MachineStatus;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status",
        description = "Show the machine's state, each endpoint, and whether buildkitd answers through it.",
        footer = {"", "Example:", "  buildkit-machine status buildkitd --json"})
final class StatusCommand extends MachineCommand {
    @Mixin
    MachineName name;

    @Option(names = "--json", description = "Print the status as JSON.")
    boolean json;

    @Override
    public Integer call() {
        Machine machine = machine(name.value);
        MachineStatus status = machine.status();
        if (status.forward() == null && status.daemon() == null && "NotCreated".equals(status.state())) {
            throw MachineException.state("there is no machine named " + name.value
                    + "; create it with 'buildkit-machine start " + name.value + "'");
        }
        if (json) {
            out().println(status.toJson());
            out().flush();
        } else {
            print(status, out());
        }
        return 0;
    }

    private static String running(MachineStatus.Keeper keeper) {
        return keeper.running() ? "running (pid " + keeper.pid() + ")" : "not running";
    }

    private static void print(MachineStatus status, PrintWriter out) {
        out.printf("%-10s %s%n", "name", status.name());
        out.printf("%-10s %s%n", "driver", status.driver());
        out.printf("%-10s %s%n", "state", status.state());
        if (status.remote() != null) {
            out.printf("%-10s %s%n", "host", status.remote());
        }
        if (status.forward() != null) {
            MachineStatus.Keeper keeper = status.forward();
            String restarts = keeper.restarts() == null ? "" : ", forward re-made " + keeper.restarts() + " times";
            String last = keeper.lastError() == null ? "" : ", last end: " + keeper.lastError();
            out.printf("%-10s %s%n", "forward", running(keeper) + restarts + last);
        }
        if (status.daemon() != null) {
            out.printf("%-10s %s%n", "buildkitd", running(status.daemon()));
        }
        for (MachineStatus.EndpointStatus endpoint : status.endpoints()) {
            String health = endpoint.answers()
                    ? "answers, platforms " + String.join(",", endpoint.platforms())
                    : "does not answer: " + endpoint.error();
            out.printf("%-10s %s  %s%n", "endpoint", endpoint.buildkitHost(), health);
        }
        out.flush();
    }
}
