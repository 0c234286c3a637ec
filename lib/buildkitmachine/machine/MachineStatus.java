package buildkitmachine.machine;

import buildkitmachine.buildkit.Worker;
import buildkitmachine.lima.LimaInstance;
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
 * @param state Lima's status (Running, Stopped, Broken), or NotCreated
 * @param guestSocket buildkitd's socket in the guest, as last found
 * @param forward the keeper of the endpoints, when one was ever started
 * @param endpoints each endpoint and whether the daemon answers through it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MachineStatus(String name, String driver, String state, String guestSocket, Keeper forward,
        List<EndpointStatus> endpoints) {
    private static final Duration PROBE_TIME = Duration.ofSeconds(2);

    /**
     * The keeper of a machine's endpoints.
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

    static MachineStatus of(Machine machine, Optional<LimaInstance> instance) {
        Optional<MachineRecord> record = machine.record();
        Supervisor supervisor = machine.supervisor();
        Optional<ProcessHandle> keeper = supervisor.running();
        Optional<ForwardState> forward = supervisor.state();
        Keeper keeperStatus = record.isEmpty() ? null : new Keeper(keeper.map(ProcessHandle::pid).orElse(null),
                keeper.isPresent(), forward.map(ForwardState::restarts).orElse(null),
                forward.map(ForwardState::lastError).orElse(null));
        List<EndpointStatus> endpoints = new ArrayList<>();
        for (Endpoint endpoint : record.map(MachineRecord::endpoints).orElse(List.of())) {
            endpoints.add(probe(endpoint, keeper.isPresent()));
        }
        return new MachineStatus(machine.name(), record.map(MachineRecord::driver).orElse("lima"),
                instance.map(LimaInstance::status).orElse("NotCreated"),
                record.map(MachineRecord::guestSocket).orElse(null), keeperStatus, endpoints);
    }

    private static EndpointStatus probe(Endpoint endpoint, boolean keeperRuns) {
        if (!keeperRuns) {
            return new EndpointStatus(endpoint.buildkitHost(), false, "closed: no forward keeper runs", null);
        }
        try {
            List<String> platforms = platformsOf(endpoint.probe().listWorkers(PROBE_TIME));
            return new EndpointStatus(endpoint.buildkitHost(), true, null, platforms);
        } catch (IOException e) {
            return new EndpointStatus(endpoint.buildkitHost(), false, e.getMessage(), null);
        }
    }

    /** Whether every endpoint answers. */
    public boolean healthy() {
        return "Running".equals(state) && !endpoints.isEmpty() && endpoints.stream().allMatch(EndpointStatus::answers);
    }

    /** Every platform the workers build, each once. */
    static List<String> platformsOf(List<Worker> workers) {
        return workers.stream().flatMap(w -> w.platforms().stream()).distinct().toList();
    }
}
