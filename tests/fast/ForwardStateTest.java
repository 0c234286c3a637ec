package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.machine.ForwardState;
import buildkitmachine.machine.ProcessId;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The keeper writes its state without Jackson; the CLI reads it with Jackson, so the two must agree. */
class ForwardStateTest {
    final ObjectMapper json = new ObjectMapper();

    @Test
    void jacksonReadsBackWhatTheKeeperWrites() throws Exception {
        ForwardState state = new ForwardState(42, "up", 3, "ssh exited with 255: \"no\" \\ path\n\ttab \u0001",
                1_796_364_492_465L, new ProcessId(43, 1_796_364_491_620L, 2_010_915L));

        assertThat(json.readValue(state.toJson(), ForwardState.class)).isEqualTo(state);
    }

    @Test
    void absentValuesAreWrittenAsNull() throws Exception {
        ForwardState state = new ForwardState(7, "starting", 0, null, 0, null);

        assertThat(json.readValue(state.toJson(), ForwardState.class)).isEqualTo(state);
    }
}
