package buildkitmachine.machine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What the toolkit remembers about one machine between commands, in {@code machine.json} of the machine's folder.
 *
 * @param name the machine's name; with the Lima driver, its instance's name too
 * @param driver how the machine runs: {@code lima}, {@code local} or {@code ssh}
 * @param createdInstance whether this toolkit created the Lima instance (and so may delete it)
 * @param endpoints where buildkitd is offered on the host
 * @param guestSocket buildkitd's socket on the far side of the forward, as last found there
 * @param ssh the ssh arguments that reach that side: options, then the destination
 * @param remote the build host of the ssh driver
 * @param startedDaemon whether the toolkit started the buildkitd it forwards to (and so stops it)
 * @param platforms the platforms the daemon's workers build, as last seen
 * @param builders the buildx builders this machine is a node of
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MachineRecord(
        String name,
        String driver,
        boolean createdInstance,
        List<Endpoint> endpoints,
        String guestSocket,
        List<String> ssh,
        RemoteHost remote,
        boolean startedDaemon,
        List<String> platforms,
        List<String> builders) {

    public MachineRecord {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        ssh = ssh == null ? List.of() : List.copyOf(ssh);
        platforms = platforms == null ? List.of() : List.copyOf(platforms);
        builders = builders == null ? List.of() : List.copyOf(builders);
    }

    /** A new record for a machine that has no endpoints yet. */
    public static MachineRecord fresh(String name, String driver) {
        return new MachineRecord(name, driver, false, List.of(), null, List.of(), null, false, List.of(), List.of());
    }

    /** The same machine, noted as having had its Lima instance created by the toolkit. */
    public MachineRecord withCreatedInstance() {
        return new MachineRecord(name, driver, true, endpoints, guestSocket, ssh, remote, startedDaemon, platforms,
                builders);
    }

    /** The same machine on another build host. */
    public MachineRecord onRemote(RemoteHost host, boolean started) {
        return new MachineRecord(name, driver, createdInstance, endpoints, guestSocket, ssh, host, started, platforms,
                builders);
    }

    /** The same machine offered at other endpoints, reached through the given socket and ssh arguments. */
    public MachineRecord forwarding(List<Endpoint> to, String socket, List<String> sshArgs) {
        return new MachineRecord(name, driver, createdInstance, to, socket, sshArgs, remote, startedDaemon, platforms,
                builders);
    }

    /** The same machine, with the platforms its daemon reported. */
    public MachineRecord building(List<String> seen) {
        return new MachineRecord(name, driver, createdInstance, endpoints, guestSocket, ssh, remote, startedDaemon,
                seen, builders);
    }

    /** The same machine, as a node of these buildx builders. */
    public MachineRecord inBuilders(List<String> names) {
        return new MachineRecord(name, driver, createdInstance, endpoints, guestSocket, ssh, remote, startedDaemon,
                platforms, names);
    }
}
