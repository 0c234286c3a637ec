package integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.buildkit.DaemonProbe;
import buildkitmachine.buildkit.Worker;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import support.CliRunner;
import support.CliRunner.Run;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * The machine's whole life through the command line, against the limactl double whose guest is a real sshd running
 * a fake buildkitd: the forward is a real {@code ssh -L}, and readiness is a real gRPC call through it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();

    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;

    @BeforeAll
    void startGuest() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmw");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
    }

    @AfterAll
    void stopGuest() throws IOException {
        for (String name : List.of("bk-unix", "buildkitd", "bk-heal", "bk-kill9", "bk-broken", "bk-mute", "bk-ssh",
                "mine")) {
            cli.run("delete", "--force", "-q", name);
        }
        if (lima != null) {
            lima.close();
        }
        if (sshd != null) {
            sshd.close();
        }
        TestSshd.deleteTree(work);
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    JsonNode status(String name) throws IOException {
        return JSON.readTree(ok("status", name, "--json").out());
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Test
    void aUnixSocketAnswersWhenStartReturnsAndIsGoneAfterStop() throws IOException {
        Path socket = work.resolve("bk.sock");

        Run start = ok("start", "bk-unix", "--unix", socket.toString(), "--timeout", "120s");

        assertThat(start.out()).isEqualTo("export BUILDKIT_HOST='unix://" + socket + "'\n");
        List<Worker> workers = DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2));
        assertThat(workers).extracting(Worker::id).containsExactly("fake");
        assertThat(lima.calls()).anyMatch(c -> c.contains(" create ") && c.contains("--tty=false"));
        assertThat(lima.calls()).anyMatch(c -> c.contains(" start ") && c.contains("--tty=false"));
        assertThat(start.err()).contains("created the Lima instance", "buildkitd answers");

        JsonNode status = status("bk-unix");
        assertThat(status.get("state").asText()).isEqualTo("Running");
        assertThat(status.at("/endpoints/0/answers").asBoolean()).isTrue();
        assertThat(status.at("/endpoints/0/platforms/0").asText()).startsWith("linux/");
        assertThat(status.get("guestSocket").asText()).endsWith("/buildkit-default/buildkitd.sock");
        long keeper = status.at("/forward/pid").asLong();
        assertThat(ProcessHandle.of(keeper)).hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());

        assertThat(ok("env", "bk-unix").out()).isEqualTo(start.out());
        assertThat(JSON.readTree(ok("env", "bk-unix", "--json").out()).get("BUILDKIT_HOST").asText())
                .isEqualTo("unix://" + socket);
        assertThat(ok("list", "--json").out()).contains("\"name\":\"bk-unix\"", "\"state\":\"Running\"");

        ok("stop", "bk-unix");

        assertThat(socket).doesNotExist();
        assertThat(ProcessHandle.of(keeper).filter(ProcessHandle::isAlive)).isEmpty();
        assertThat(status("bk-unix").get("state").asText()).isEqualTo("Stopped");
        assertThat(status("bk-unix").at("/endpoints/0/answers").asBoolean()).isFalse();
        assertThat(cli.run("env", "bk-unix").code()).isEqualTo(6);

        Run again = ok("start", "bk-unix", "--timeout", "120s");

        assertThat(again.out()).as("the remembered endpoint").isEqualTo(start.out());
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(lima.calls().stream().filter(c -> c.contains(" create ")).count()).isEqualTo(1);

        ok("delete", "bk-unix", "--force");

        assertThat(socket).doesNotExist();
        assertThat(lima.run("list", "--json").stdout()).doesNotContain("bk-unix");
        assertThat(work.resolve("state/bk-unix")).doesNotExist();
    }

    @Test
    void theOriginalInvocationsStillWork() throws IOException {
        Path socket = work.resolve("buildkitd.sock");
        int port = freePort();

        Run unix = ok("start", "buildkitd", "--unix", socket.toString());
        assertThat(unix.out()).contains("unix://" + socket);

        Run tcp = ok("start", "buildkitd", "--tcp", Integer.toString(port));

        assertThat(tcp.out()).isEqualTo("export BUILDKIT_HOST='tcp://127.0.0.1:" + port + "'\n");
        assertThat(DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(socket).as("the endpoint it replaced is closed").doesNotExist();
        long starts = lima.calls().stream().filter(c -> c.contains(" start ") && c.contains("buildkitd")).count();
        assertThat(starts).as("a running machine is reused, not started again").isEqualTo(1);

        ok("start", "buildkitd", "--tcp", Integer.toString(port));
        ok("stop", "buildkitd");

        assertThatThrownBy(() -> DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofMillis(500)))
                .isInstanceOf(IOException.class);
    }
}
