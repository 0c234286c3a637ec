package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.machine.ProcessId;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A remembered process is found again by its start, and a PID given to another process is not mistaken for it. */
class ProcessIdTest {
    final ProcessHandle self = ProcessHandle.current();

    @BeforeEach
    void needsProc() {
        Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/stat")),
                "no /proc here: processes are told apart by their start in milliseconds only");
    }

    @Test
    void aRunningProcessIsFoundByWhatWasWrittenOfIt() {
        ProcessId id = ProcessId.of(self);

        assertThat(id.ticks()).isPositive();
        assertThat(ProcessId.parse(id.toString())).contains(id);
        assertThat(id.find()).contains(self);
    }

    @Test
    void aBootTimeThatMovedSinceTheProcessStartedDoesNotHideIt() {
        ProcessId id = ProcessId.of(self);
        // What a later command computes after the system clock moved the boot time by 8 s, as seen on a VM.
        ProcessId moved = new ProcessId(id.pid(), id.started() + 8_000, id.ticks());

        assertThat(moved.find()).contains(self);
    }

    @Test
    void anotherStartUnderTheSamePidIsNotOurs() {
        ProcessId id = ProcessId.of(self);
        ProcessId other = new ProcessId(id.pid(), id.started(), id.ticks() + 1);

        assertThat(other.find()).isEmpty();
    }

    @Test
    void aFileWrittenBeforeTicksWereKeptIsStillReadByItsMilliseconds() {
        ProcessId id = ProcessId.of(self);
        String older = id.pid() + " " + id.started();

        assertThat(ProcessId.parse(older).flatMap(ProcessId::find)).contains(self);
        assertThat(ProcessId.parse(id.pid() + " " + (id.started() - 1)).flatMap(ProcessId::find)).isEmpty();
    }
}
