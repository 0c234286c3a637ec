package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.DaemonProbe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import support.CliRunner;
import support.CliRunner.Run;
import support.GuestBoot;
import support.LimaDouble;
import support.TestSshd;

/**
 * No string from the user is ever interpreted by a shell, on the host or in the guest: paths full of spaces, quotes,
 * semicolons and command substitutions reach every program as they are, and nothing they "say" is run.
 */
class ShellSafetyTest {
    /** Every character a shell would act on, and a command that would leave a trace if one ran it. */
    static final String NASTY = "a b'c\";$(touch PWNED)`touch PWNED2`&|*";

    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;

    @BeforeEach
    void setUp() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkm$");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", Files.createDirectories(work.resolve("s " + NASTY)).toString());
        cli = new CliRunner(env, work);
    }

    @AfterEach
    void tearDown() {
        if (cli != null) {
            cli.run("delete", "--force", "-q", "nasty");
        }
        TestSshd.closeAll(lima, sshd);
        TestSshd.deleteTree(work);
    }

    @Test
    void pathsWithShellCharactersWorkAndRunNothing() throws Exception {
        Path folder = Files.createDirectories(work.resolve("u " + NASTY));
        Path socket = work.resolve("k" + NASTY + ".sock");
        Path template = Files.writeString(folder.resolve("t " + NASTY + ".yaml"),
                "minimumLimaVersion: 2.0.0\nmounts: []\n");

        Run start = cli.run("start", "nasty", "--driver", "lima", "--unix", socket.toString(),
                "--template", template.toString(), "--timeout", "60s");

        assertThat(start.code()).as(start.toString()).isZero();
        assertThat(DaemonProbe.unix(socket).listWorkers(Duration.ofSeconds(2))).hasSize(1);
        assertThat(cli.run("env", "nasty").out()).isEqualTo(start.out());
        Run printed = cli.run("ssh", "nasty", "--", "printf", "%s", NASTY);
        assertThat(printed.out()).isEqualTo(NASTY);
        assertThat(cli.run("stop", "nasty").code()).isZero();
        assertThat(socket).doesNotExist();
        assertNothingRan();
    }

    /** No PWNED file anywhere the commands ran: the working folder, the guest's folders, the state. */
    private void assertNothingRan() throws IOException {
        for (Path root : new Path[] {work, sshd.guestDir(), Path.of("").toAbsolutePath()}) {
            try (Stream<Path> files = Files.walk(root)) {
                assertThat(files.filter(f -> f.getFileName().toString().startsWith("PWNED")).toList())
                        .as("files made by an injected command under " + root).isEmpty();
            }
        }
        assertThat(Path.of(System.getProperty("user.home"), "PWNED")).doesNotExist();
    }
}
