package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Log;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import support.CliRunner;

/** Progress: a counting line on a terminal, plain lines elsewhere, nothing but errors with -q, detail with -v. */
class ProgressTest {
    @Test
    void onATerminalAPhaseCountsItsSecondsInPlaceThenLeavesOneLine() throws InterruptedException {
        StringWriter text = new StringWriter();
        Log log = new Log(new PrintWriter(text), Log.Level.NORMAL, true);

        log.phase("starting the Lima instance x");
        Thread.sleep(450);
        log.progress("a note meanwhile");
        log.phaseDone("started the Lima instance x", Duration.ofMillis(450));

        String shown = text.toString();
        assertThat(shown).contains("\r\033[Kbuildkit-machine: starting the Lima instance x… 0.0s")
                .containsPattern("starting the Lima instance x… 0\\.[2-9]s")
                .contains("\r\033[Kbuildkit-machine: a note meanwhile\n")
                .endsWith("\r\033[Kbuildkit-machine: started the Lima instance x (0.5s)\n");
    }

    @Test
    void elsewhereEachPhaseIsOnePlainLine() throws InterruptedException {
        StringWriter text = new StringWriter();
        Log log = new Log(new PrintWriter(text), Log.Level.NORMAL, false);

        log.phase("waiting");
        Thread.sleep(250);
        log.phaseDone("done waiting", Duration.ofMillis(250));

        assertThat(text.toString()).isEqualTo("buildkit-machine: waiting…\nbuildkit-machine: done waiting (0.3s)\n");
    }

    @Test
    void quietShowsNoProgressButStillTheErrors() {
        StringWriter text = new StringWriter();
        Log log = new Log(new PrintWriter(text), Log.Level.QUIET, true);

        log.phase("waiting");
        log.phaseDone("done", Duration.ZERO);
        log.debug("detail");
        log.error("it broke");

        assertThat(text.toString()).isEqualTo("buildkit-machine: error: it broke\n");
    }

    @Test
    void quietKeepsStderrEmptyOnSuccessAndResultsStayOnStdout(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path home) {
        CliRunner cli = new CliRunner(Map.of("PATH", "/nonexistent", "BUILDKIT_MACHINE_HOME", home.toString()), home);

        CliRunner.Run normal = cli.run("config", "set", "vm.cpus", "2");
        CliRunner.Run quiet = cli.run("config", "set", "-q", "vm.cpus", "3");
        CliRunner.Run shown = cli.run("config", "-q");

        assertThat(normal.err()).isEqualTo("buildkit-machine: set vm.cpus in " + home.resolve("config.yaml") + "\n"
                + "buildkit-machine: vm.cpus applies when a machine's VM is created; existing VMs keep their size\n");
        assertThat(quiet.err()).isEmpty();
        assertThat(shown.err()).isEmpty();
        assertThat(shown.out()).contains("vm.cpus").contains("3");
    }
}
