package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.MachineException;
import buildkitmachine.buildkit.Buildx;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.FakeDaemons;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * Two machines of different drivers as the nodes of one buildx builder, with the real docker-buildx binary (Debian's
 * package, standalone, no Docker engine): each node is pinned to its machine's native platform, deleting a machine
 * removes its node, and the last one removes the builder.
 */
class BuildxTest {
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;
    Buildx buildx;

    @BeforeEach
    void setUp() throws IOException {
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmx");
        Map<String, String> env = new HashMap<>(Map.of("HOME", work.toString(),
                "DOCKER_CONFIG", work.resolve("docker").toString(),
                "BUILDKIT_MACHINE_HOME", work.resolve("state").toString()));
        try {
            buildx = Buildx.find(Host.of(Map.of("PATH", LifecycleTest.SYSTEM_PATH, "HOME", work.toString(),
                    "DOCKER_CONFIG", env.get("DOCKER_CONFIG")), Log.silent()));
        } catch (MachineException e) {
            Assumptions.abort("docker-buildx is not installed (.ci/run installs Debian's package): " + e.getMessage());
        }
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, "--platforms linux/amd64"));
        env.putAll(lima.env());
        Path bin = FakeDaemons.install(work.resolve("bin"), FakeDaemons.source(), "--platforms linux/arm64");
        env.put("PATH", LimaDouble.doublesDir() + ":" + bin + ":" + LifecycleTest.SYSTEM_PATH);
        cli = new CliRunner(env, work);
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "amd");
            cli.run("delete", "--force", "-q", "arm");
            lima.close();
            sshd.close();
        }
        TestSshd.deleteTree(work);
    }

    Run ok(String... args) {
        Run run = cli.run(args);
        assertThat(run.code()).as(String.join(" ", args) + "\n" + run).isZero();
        return run;
    }

    Program.Result buildx(String... args) {
        return buildx.run(List.of(args));
    }

    @Test
    void machinesBecomeNodesPinnedToTheirPlatformsAndLeaveWhenDeleted() {
        ok("start", "amd", "--driver", "lima", "--unix", work.resolve("amd.sock").toString());
        ok("start", "arm", "--driver", "local", "--unix", work.resolve("arm.sock").toString());

        Run joined = ok("buildx", "amd", "arm", "--builder", "multi");

        assertThat(joined.out()).isEqualTo("multi\n");
        assertThat(joined.err()).contains("--platform linux/amd64,linux/arm64");
        Program.Result inspect = buildx("inspect", "--bootstrap", "multi");
        assertThat(inspect.exitCode()).as(inspect.stderr()).isZero();
        assertThat(inspect.stdout()).contains("Name:", "amd", "arm", "unix://" + work.resolve("amd.sock"))
                .contains("linux/amd64*", "linux/arm64*");
        assertThat(inspect.stdout().split("Status:\\s+running", -1)).hasSize(3);

        ok("buildx", "amd", "arm", "--builder", "multi");
        assertThat(buildx("inspect", "multi").stdout().split("Endpoint:", -1)).as("joining twice adds nothing")
                .hasSize(3);

        ok("delete", "arm", "--force");
        Program.Result one = buildx("inspect", "multi");
        assertThat(one.stdout()).contains("amd").doesNotContain("arm.sock");

        ok("delete", "amd", "--force");
        assertThat(buildx("inspect", "multi").exitCode()).as("a builder left with no node is removed").isNotZero();
    }

    @Test
    void closedEndpointsAndBadBuilderNamesAreRefused() {
        Run bad = cli.run("buildx", "amd", "--builder=bad;name");
        assertThat(bad.code()).isEqualTo(2);

        ok("start", "arm", "--driver", "local", "--unix", work.resolve("arm.sock").toString());
        ok("stop", "arm");
        Run closed = cli.run("buildx", "arm");

        assertThat(closed.code()).isEqualTo(6);
        assertThat(closed.err()).contains("endpoints of arm are closed");
    }
}
