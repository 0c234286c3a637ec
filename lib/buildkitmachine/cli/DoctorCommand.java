package buildkitmachine.cli;

import buildkitmachine.ExitCode;
import buildkitmachine.MachineException;
import buildkitmachine.machine.Doctor;
import buildkitmachine.machine.Machine;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "doctor",
        description = {"Check what buildkit-machine needs on this host and in each machine: tools and their"
                + " versions, the state folder, endpoints, socket permissions, the guest's clock and disk.",
            "Each finding says how to fix it. Exit code 0 when nothing failed, 7 when something did."},
        footer = {"", "Examples:", "  buildkit-machine doctor", "  buildkit-machine doctor arm --json"})
final class DoctorCommand extends MachineCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME",
            description = "Check only this machine (and the host); default: every machine.")
    String name;

    @Option(names = "--json", description = "Print {\"ok\": …, \"findings\": […]} instead.")
    boolean json;

    @Override
    public Integer call() {
        List<String> machines = machines();
        host().log().progress("checking the host" + (machines.isEmpty() ? "" : " and " + String.join(", ", machines))
                + "…");
        List<Doctor.Finding> findings = Doctor.examine(host(), machines);
        boolean ok = findings.stream().noneMatch(f -> f.status() == Doctor.Status.FAIL);
        if (json) {
            printJson(Map.of("ok", ok, "findings", findings));
        } else {
            findings.forEach(f -> out().printf("%-5s %-22s %s%s%n", f.status().label(), f.check(),
                    f.detail(), f.fix().isEmpty() ? "" : " (fix: " + f.fix() + ")"));
            long failed = findings.stream().filter(f -> f.status() == Doctor.Status.FAIL).count();
            long warned = findings.stream().filter(f -> f.status() == Doctor.Status.WARN).count();
            String warnings = warned == 0 ? "" : " (" + warned + (warned == 1 ? " warning)" : " warnings)");
            out().println(ok ? "all is well" + warnings
                    : failed + " problem" + (failed == 1 ? "" : "s") + " to fix");
            out().flush();
        }
        return ok ? 0 : ExitCode.UNHEALTHY.code();
    }

    private List<String> machines() {
        List<String> known = Machine.known(host());
        if (name == null) {
            return known;
        }
        Machine.checkName(name);
        if (!known.contains(name)) {
            throw MachineException.state("there is no machine named " + name
                    + "; 'buildkit-machine list' shows the machines there are");
        }
        return List.of(name);
    }
}
