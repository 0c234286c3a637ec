package buildkitmachine.machine;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A machine as {@code status} reports it: the VM's state, the forward keeper, and for each endpoint whether buildkitd
 * really answers through it.
 *
 * @param name the machine's name
 * @param driver how it runs
 * @param state Running, Stopped, Broken (Lima), Unreachable (ssh), or NotCreated
 * @param remote the build host of the ssh driver
 * @param guestSocket buildkitd's socket at the far end of the forward, as last found
 * @param forward the keeper of forwarded endpoints, when one was ever started
 * @param daemon the local driver's buildkitd, which listens on the endpoints itself
 * @param endpoints each endpoint and whether the daemon answers through it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MachineStatus(String name, String driver, String state, String remote, String guestSocket,
        Keeper forward, Keeper daemon, List<EndpointStatus> endpoints) {
    private static final Duration PROBE_TIME = Duration.ofSeconds(2);

    /**
     * A process that keeps a machine's endpoints open: the forward keeper, or the local buildkitd.
     *
     * @param pid its process, when it runs
     * @param running whether it runs
     * @param restarts how many times it re-made the ssh forward
     * @param lastError why the forward last ended
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Keeper(Long pid, boolean running, Integer restarts, String lastError) {
    }

    /**
     * One endpoint's health.
     *
     * @param buildkitHost the address for buildctl
     * @param answers whether buildkitd answered a request through it just now
     * @param error why it did not answer
     * @param platforms the platforms its workers build
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record EndpointStatus(String buildkitHost, boolean answers, String error, List<String> platforms) {
    }

    static MachineStatus of(Machine machine, String state) {
        Optional<MachineRecord> record = machine.record();
        boolean local = Driver.LOCAL.equals(machine.driverName());
        Supervisor supervisor = local ? new Supervisor(machine.host(), machine.folder(), Supervisor.DAEMON)
                : machine.forwardKeeper();
        Optional<ProcessHandle> keeper = supervisor.running();
        Optional<ForwardState> forward = supervisor.state();
        Keeper keeperStatus = record.isEmpty() ? null : new Keeper(keeper.map(ProcessHandle::pid).orElse(null),
                keeper.isPresent(), forward.map(ForwardState::restarts).orElse(null),
                forward.map(ForwardState::lastError).orElse(null));
        List<EndpointStatus> endpoints = new ArrayList<>();
        for (Endpoint endpoint : record.map(MachineRecord::endpoints).orElse(List.of())) {
            endpoints.add(probe(endpoint, keeper.isPresent()));
        }
        return new MachineStatus(machine.name(), machine.driverName(), state,
                record.map(MachineRecord::remote).map(RemoteHost::display).orElse(null),
                record.map(MachineRecord::guestSocket).orElse(null),
                local ? null : keeperStatus, local ? keeperStatus : null, endpoints);
    }

    private static EndpointStatus probe(Endpoint endpoint, boolean keeperRuns) {
        if (!keeperRuns) {
            return new EndpointStatus(endpoint.buildkitHost(), false, "closed: nothing holds it open", null);
        }
        try {
            List<String> platforms = Machine.platformsOf(endpoint.probe().listWorkers(PROBE_TIME));
            return new EndpointStatus(endpoint.buildkitHost(), true, null, platforms);
        } catch (IOException e) {
            return new EndpointStatus(endpoint.buildkitHost(), false, e.getMessage(), null);
        }
    }

    /** Whether every endpoint answers. */
    public boolean healthy() {
        return "Running".equals(state) && !endpoints.isEmpty() && endpoints.stream().allMatch(EndpointStatus::answers);
    }
}
