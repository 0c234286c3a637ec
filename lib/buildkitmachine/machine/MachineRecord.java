package buildkitmachine.machine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What the toolkit remembers about one machine between commands, in {@code machine.json} of the machine's folder.
 *
 * @param name the machine's name, which is also its Lima instance's name
 * @param driver how the machine runs; {@code lima} for now
 * @param createdInstance whether this toolkit created the Lima instance (and so may delete it)
 * @param endpoints where buildkitd is offered on the host
 * @param guestSocket buildkitd's socket in the guest, as last found there
 * @param sshConfig the ssh client configuration that reaches the guest
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MachineRecord(
        String name,
        String driver,
        boolean createdInstance,
        List<Endpoint> endpoints,
        String guestSocket,
        String sshConfig) {

    public MachineRecord {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    /** A new record for a machine that has no endpoints yet. */
    public static MachineRecord fresh(String name, boolean createdInstance) {
        return new MachineRecord(name, "lima", createdInstance, List.of(), null, null);
    }

    /** The same machine offered at other endpoints, reached through the given guest socket and ssh config. */
    public MachineRecord forwarding(List<Endpoint> to, String socket, String config) {
        return new MachineRecord(name, driver, createdInstance, to, socket, config);
    }
}
