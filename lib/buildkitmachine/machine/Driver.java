package buildkitmachine.machine;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import buildkitmachine.ssh.SshTarget;
import java.util.List;

/**
 * How a machine's buildkitd runs: in a Lima VM, on this host, or on a build host reached over SSH. Endpoints,
 * readiness and the keeper of forwards are the same whatever the driver; only these steps differ.
 */
interface Driver {
    String LIMA = "lima";
    String LOCAL = "local";
    String SSH = "ssh";
    List<String> NAMES = List.of(LIMA, LOCAL, SSH);

    /** The driver's name as users write it. */
    String name();

    /** Fails with a missing-tool error, saying how to install it, when a program the driver needs is absent. */
    void requireTools();

    /** Brings buildkitd up, creating what is needed, and says how endpoints reach it. */
    Route bringUp(StartOptions options, Deadline deadline);

    /** The machine's state for status and list: Running, Stopped, Broken, NotCreated, Unreachable. */
    String state();

    /** Restarts a buildkitd that stopped answering while its machine kept running. */
    void revive();

    /** Stops buildkitd (and the VM); the endpoints are closed already. */
    void stop();

    /** Removes what the driver created, beyond the machine's folder; {@code force} allows a running machine. */
    void delete(boolean force);

    /** Where {@code ssh} takes the user. */
    SshTarget shell();

    /** The end of buildkitd's log, for messages when it does not answer. */
    String logTail();

    /** The driver of that name, for a machine. */
    static Driver of(String name, Machine machine) {
        return switch (name) {
            case LIMA -> new LimaDriver(machine);
            case LOCAL -> new LocalDriver(machine);
            case SSH -> new SshDriver(machine);
            default -> throw MachineException.usage("--driver '" + name + "' is not one of "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * Lima on macOS. On Linux, local when buildkitd can run here (with rootlesskit, or as root), else Lima when
     * limactl is installed; when neither is, the error names both ways.
     */
    static String defaultName(Host host) {
        if (Host.isMacOs()) {
            return LIMA;
        }
        String path = host.env().getOrDefault("PATH", "");
        boolean buildkitd = Program.findOnPath("buildkitd", path).isPresent();
        boolean rootless = Program.findOnPath("rootlesskit", path).isPresent() || LocalDriver.runsAsRoot();
        if (buildkitd && rootless) {
            return LOCAL;
        }
        if (Program.findOnPath("limactl", path).isPresent()) {
            return LIMA;
        }
        throw MachineException.missingTool("neither BuildKit nor Lima is installed: install buildkitd and"
                + " rootlesskit to run BuildKit on this host (--driver local), or Lima to run it in a VM"
                + " (--driver lima, https://lima-vm.io/docs/installation/)");
    }
}
