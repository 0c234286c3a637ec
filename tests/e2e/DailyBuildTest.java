package e2e;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.exec.Program;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.NetnsHost;
import support.Registry;
import support.TestSshd;

/**
 * A builder's day with a real buildkitd (local driver): a plain-HTTP registry that is not on loopback refuses
 * pushes until the configuration calls it insecure, `build` pushes to it, the cache survives stop and start so that
 * a rebuild is all cached, and `du` and `prune` see and shrink that cache.
 */
class DailyBuildTest {
    static final ObjectMapper JSON = new ObjectMapper();

    NetnsHost netns;
    Registry registry;
    Path work;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        String path = System.getenv().getOrDefault("PATH", "");
        Assumptions.assumeTrue(Program.findOnPath("buildkitd", path).isPresent(),
                "buildkitd is not on PATH: BuildKit is in no Debian package; put a BuildKit release on PATH");
        Assumptions.assumeTrue(Program.findOnPath("buildctl", path).isPresent(),
                "buildctl is not on PATH: put a BuildKit release on PATH");
        netns = NetnsHost.start();
        registry = Registry.startIn(netns);
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmD");
        cli = new CliRunner(Map.of("PATH", path, "HOME", work.toString(),
                "DOCKER_CONFIG", work.resolve("docker").toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()), work);
        Files.createDirectories(work.resolve("app"));
        byte[] noise = new byte[1 << 20];
        new java.util.Random(7).nextBytes(noise);
        Files.write(work.resolve("app/hello.txt"), noise);
        Files.writeString(work.resolve("app/Dockerfile"), "FROM scratch\nCOPY hello.txt /\nCOPY Dockerfile /\n");
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "daily");
        }
        if (registry != null) {
            registry.close();
        }
        if (netns != null) {
            netns.close();
        }
        if (work != null) {
            TestSshd.deleteTree(work);
        }
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    @Test
    void pushesToAnInsecureRegistryAndRebuildsFromCacheAfterStopAndStart() throws IOException {
        String image = registry.address() + "/daily/app:1";
        ok("start", "daily", "--driver", "local", "--unix", work.resolve("d.sock").toString(), "--timeout", "90s");

        Run refused = cli.run("build", "-m", "daily", "-t", image, "--push", "--progress", "plain", "app");

        assertThat(refused.code()).as("buildctl's own exit code, passed through: " + refused).isEqualTo(1);
        assertThat(refused.err()).contains("HTTP response to HTTPS client");

        ok("config", "set", "-m", "daily", "buildkitd.insecureRegistries", "[" + registry.address() + "]");
        Run pushed = ok("build", "-m", "daily", "-t", image, "--push", "--progress", "plain", "app");

        assertThat(pushed.err()).contains("pushing layers");
        assertThat(registry.get("/v2/daily/app/tags/list")).startsWith("200").contains("\"1\"");

        ok("stop", "daily");
        ok("start", "daily", "--timeout", "90s");
        Run again = ok("build", "-m", "daily", "-t", image, "--push", "--progress", "plain", "app");

        assertThat(again.err()).containsPattern("COPY hello.txt /\\n#\\d+ CACHED")
                .containsPattern("COPY Dockerfile /\\n#\\d+ CACHED");

        JsonNode before = JSON.readTree(ok("du", "daily", "--json").out());
        assertThat(before.get("records").asInt()).isPositive();
        assertThat(before.get("bytes").asLong()).isPositive();
        JsonNode removed = JSON.readTree(ok("prune", "daily", "--all", "--json").out());
        JsonNode after = JSON.readTree(ok("du", "daily", "--json").out());
        assertThat(removed.get("records").asInt()).isPositive();
        assertThat(after.get("bytes").asLong()).isLessThan(before.get("bytes").asLong());
    }
}
