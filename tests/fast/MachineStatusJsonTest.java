package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.machine.MachineStatus;
import buildkitmachine.machine.MachineStatus.EndpointStatus;
import buildkitmachine.machine.MachineStatus.Keeper;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** status --json is written with Jackson's generator; it must be what Jackson's mapper writes, to the character. */
class MachineStatusJsonTest {
    final ObjectMapper mapper = new ObjectMapper();

    @Test
    void aForwardedMachineWithEveryFieldIsWrittenAsTheMapperWritesIt() throws Exception {
        MachineStatus status = new MachineStatus("vm", "ssh", "Running", "me@build-1:2222", "/run/buildkit/b.sock",
                new Keeper(4242L, true, 3, "ssh exited with 255: \"refused\" \\ \n\ttab \u0001 ünïcode"), null,
                List.of(new EndpointStatus("unix:///tmp/a b.sock", true, null, List.of("linux/amd64", "linux/386")),
                        new EndpointStatus("tcp://127.0.0.1:9999", false, "connection refused", null)));

        assertThat(status.toJson()).isEqualTo(mapper.writeValueAsString(status));
    }

    @Test
    void aLocalMachineAndAnEmptyOneAreWrittenAsTheMapperWritesThem() throws Exception {
        MachineStatus local = new MachineStatus("here", "local", "Stopped", null, null, null,
                new Keeper(null, false, null, null),
                List.of(new EndpointStatus("unix:///x.sock", false, "closed: nothing holds it open", null)));
        MachineStatus none = new MachineStatus("gone", "lima", "NotCreated", null, null, null, null, List.of());

        assertThat(local.toJson()).isEqualTo(mapper.writeValueAsString(local));
        assertThat(none.toJson()).isEqualTo(mapper.writeValueAsString(none));
    }
}
