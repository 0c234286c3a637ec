package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.machine.ForwardState;
import buildkitmachine.machine.ProcessId;
import buildkitmachine.machine.RecordReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keeper writes its state without Jackson; the CLI reads it with Jackson's parser, so the two must agree. */
class ForwardStateTest {
    @TempDir
    Path folder;

    ForwardState readBack(String json) throws IOException {
        return RecordReader.forwardState(Files.writeString(folder.resolve("forward.json"), json));
    }

    @Test
    void theReaderReadsBackWhatTheKeeperWrites() throws Exception {
        ForwardState state = new ForwardState(42, "up", 3, "ssh exited with 255: \"no\" \\ path\n\ttab \u0001",
                1_796_364_492_465L, new ProcessId(43, 1_796_364_491_620L, 2_010_915L));

        assertThat(readBack(state.toJson())).isEqualTo(state);
    }

    @Test
    void absentValuesAreWrittenAsNull() throws Exception {
        ForwardState state = new ForwardState(7, "starting", 0, null, 0, null);

        assertThat(readBack(state.toJson())).isEqualTo(state);
    }

    @Test
    void aStateFromBeforeTicksAndNamesItDoesNotKnowAreRead() throws Exception {
        ForwardState state = readBack("{\"pid\": 9, \"state\": \"up\", \"restarts\": 1, \"since\": 5, \"later\": [1.5],"
                + " \"ssh\": {\"pid\": 10, \"started\": 1796364491620}}");

        assertThat(state).isEqualTo(new ForwardState(9, "up", 1, null, 5, new ProcessId(10, 1_796_364_491_620L, 0)));
    }
}
