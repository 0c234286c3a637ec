package buildkitmachine.machine;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
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
    private static final JsonFactory JSON = new JsonFactory();

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

    /**
     * The JSON of {@code status --json}, written with Jackson's generator: what the object mapper writes for this
     * record (its fields in order, absent ones left out), without making a mapper, which took longer than the rest
     * of the command.
     */
    public String toJson() {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = JSON.createGenerator(text)) {
            json.writeStartObject();
            writeText(json, "name", name);
            writeText(json, "driver", driver);
            writeText(json, "state", state);
            writeText(json, "remote", remote);
            writeText(json, "guestSocket", guestSocket);
            writeKeeper(json, "forward", forward);
            writeKeeper(json, "daemon", daemon);
            if (endpoints != null) {
                json.writeArrayFieldStart("endpoints");
                for (EndpointStatus endpoint : endpoints) {
                    json.writeStartObject();
                    writeText(json, "buildkitHost", endpoint.buildkitHost());
                    json.writeBooleanField("answers", endpoint.answers());
                    writeText(json, "error", endpoint.error());
                    if (endpoint.platforms() != null) {
                        json.writeArrayFieldStart("platforms");
                        for (String platform : endpoint.platforms()) {
                            json.writeString(platform);
                        }
                        json.writeEndArray();
                    }
                    json.writeEndObject();
                }
                json.writeEndArray();
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    private static void writeKeeper(JsonGenerator json, String name, Keeper keeper) throws IOException {
        if (keeper == null) {
            return;
        }
        json.writeObjectFieldStart(name);
        if (keeper.pid() != null) {
            json.writeNumberField("pid", keeper.pid());
        }
        json.writeBooleanField("running", keeper.running());
        if (keeper.restarts() != null) {
            json.writeNumberField("restarts", keeper.restarts());
        }
        writeText(json, "lastError", keeper.lastError());
        json.writeEndObject();
    }

    private static void writeText(JsonGenerator json, String name, String value) throws IOException {
        if (value != null) {
            json.writeStringField(name, value);
        }
    }

    /** Whether every endpoint answers. */
    public boolean healthy() {
        return "Running".equals(state) && !endpoints.isEmpty() && endpoints.stream().allMatch(EndpointStatus::answers);
    }
}
