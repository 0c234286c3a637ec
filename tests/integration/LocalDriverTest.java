package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.DaemonProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.TestSshd;

/**
 * The local driver, with the fake buildkitd standing in for buildkitd on PATH (BuildKit is in no Debian package):
 * the daemon is started detached, listens on the endpoints itself, and stop ends it. The e2e tier does the same
 * with a real buildkitd.
 */
class LocalDriverTest {
    static final ObjectMapper JSON = new ObjectMapper();

    Path work;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        work = Files.createTempDirectory(Path.of("/tmp"), "bkml");
        Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "--platforms linux/arm64");
        cli = new CliRunner(Map.of("PATH", bin + ":" + LifecycleTest.SYSTEM_PATH, "HOME", work.toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
    }

    @AfterEach
    void tearDown() {
        cli.run("delete", "--force", "-q", "here");
        TestSshd.deleteTree(work);
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    @Test
    void withBuildkitdOnPathTheDefaultDriverRunsItHereOnEveryEndpoint() throws Exception {
        Path socket = work.resolve("here.sock");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }

        Run start = ok("start", "here", "--unix", socket.toString(), "--tcp", Integer.toString(port));

        assertThat(start.out()).isEqualTo("export BUILDKIT_HOST='unix://" + socket + "'\n");
        if (root()) {
            assertThat(start.err()).contains("running as root: buildkitd runs without rootlesskit");
        }
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2)).get(0).platforms())
                .containsExactly("linux/arm64");
        assertThat(DaemonProbe.tcp("127.0.0.1", port).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        JsonNode status = JSON.readTree(ok("status", "here", "--json").out());
        assertThat(status.get("driver").asText()).isEqualTo("local");
        assertThat(status.get("state").asText()).isEqualTo("Running");
        assertThat(status.at("/daemon/running").asBoolean()).isTrue();
        assertThat(ok("list", "--json").out()).contains("\"driver\":\"local\"", "\"platforms\":[\"linux/arm64\"]");
        long daemon = status.at("/daemon/pid").asLong();

        ok("start", "here");
        assertThat(JSON.readTree(ok("status", "here", "--json").out()).at("/daemon/pid").asLong())
                .as("a running daemon with the same endpoints is reused").isEqualTo(daemon);

        ok("stop", "here");

        assertThat(ProcessHandle.of(daemon).filter(ProcessHandle::isAlive)).isEmpty();
        assertThat(socket).doesNotExist();
        assertThat(JSON.readTree(ok("status", "here", "--json").out()).get("state").asText()).isEqualTo("Stopped");
        assertThat(cli.run("env", "here").code()).isEqualTo(6);
    }

    @Test
    void sshIsRefusedForTheLocalDriverWithTheReason() {
        ok("start", "here", "--driver", "local");

        Run ssh = cli.run("ssh", "here", "--", "true");

        assertThat(ssh.code()).isEqualTo(6);
        assertThat(ssh.err()).contains("nothing to ssh into");
    }

    @Test
    void vmSizesAreRefusedForDriversWithoutAVm() {
        Run start = cli.run("start", "here", "--driver", "local", "--cpus", "2");

        assertThat(start.code()).isEqualTo(2);
        assertThat(start.err()).contains("size a Lima VM");
        assertThat(work.resolve("state/here")).doesNotExist();
    }

    @Test
    void theDriverIsRememberedAndCannotChangeUnderAMachine() {
        ok("start", "here", "--driver", "local");

        Run lima = cli.run("start", "here", "--driver", "lima");

        assertThat(lima.code()).isEqualTo(2);
        assertThat(lima.err()).contains("uses the local driver", "delete it first");
    }

    /** Whether the tests run as root, where the local driver runs buildkitd without rootlesskit. */
    static boolean root() {
        return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
    }
}
