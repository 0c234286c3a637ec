package integration;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/** A limactl that is too old, or that breaks its contract: one clear line, the right code, nothing created. */
class ToolProblemsTest {
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    Map<String, String> env;

    @BeforeEach
    void setUp() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmp");
        env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
    }

    @AfterEach
    void tearDown() {
        TestSshd.closeAll(lima, sshd);
        TestSshd.deleteTree(work);
    }

    @Test
    void aLimaOlderThanTheTemplateNeedsIsReportedWithHowToUpgrade() {
        env.put("LIMACTL_DOUBLE_VERSION", "1.2.1");

        Run start = new CliRunner(env, work).run("start", "old", "--driver", "lima");

        assertThat(start.code()).as(start.toString()).isEqualTo(3);
        assertThat(start.err()).contains("limactl 1.2.1 is too old", "Lima 2.0.0 or newer", "brew upgrade lima");
        assertThat(lima.run("list", "--json").stdout()).isEmpty();
        assertThat(work.resolve("state/old")).doesNotExist();
    }

    @Test
    void aLimactlThatPrintsSomethingElseThanJsonLinesIsNamedAsTheCulprit() throws IOException {
        Path bin = Files.createDirectories(work.resolve("bin"));
        Path broken = Files.writeString(bin.resolve("limactl"),
                "#!/bin/sh\nif [ \"$1\" = list ]; then echo '[{\"name\":\"x\"}]'; exit 0; fi\nexit 1\n");
        Files.setPosixFilePermissions(broken, PosixFilePermissions.fromString("rwxr-xr-x"));
        env.put("PATH", bin + ":" + LifecycleTest.SYSTEM_PATH);

        Run start = new CliRunner(env, work).run("start", "odd", "--driver", "lima");

        assertThat(start.code()).as(start.toString()).isEqualTo(4);
        assertThat(start.err().lines().toList()).hasSize(1);
        assertThat(start.err()).contains("limactl list --json printed a line that is not a JSON object");
        assertThat(work.resolve("state/odd")).doesNotExist();
    }

    @Test
    void withoutLimactlListStillShowsEveryMachineAndSaysWhyTheLimaOnesAreUnknown() {
        CliRunner cli = new CliRunner(env, work);
        Run start = cli.run("start", "vm", "--driver", "lima", "-q");
        assertThat(start.code()).as(start.toString()).isZero();
        Map<String, String> noLima = new HashMap<>(env);
        noLima.put("PATH", LifecycleTest.SYSTEM_PATH);

        Run list = new CliRunner(noLima, work).run("list", "--json");

        assertThat(list.code()).as(list.toString()).isZero();
        assertThat(list.out()).contains("\"name\":\"vm\"", "\"state\":\"Unknown\"");
        assertThat(list.err().lines().toList()).hasSize(1);
        assertThat(list.err()).contains("Unknown", "limactl");
        assertThat(cli.run("delete", "--force", "-q", "vm").code()).isZero();
    }
}
