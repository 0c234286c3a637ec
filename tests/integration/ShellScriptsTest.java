package integration;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.buildkit.GuestDaemon;
import buildkitmachine.exec.Program;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import support.LimaDouble;

/** Every shell script of the project, and the scripts the toolkit runs in guests, pass shellcheck. */
class ShellScriptsTest {
    @TempDir
    Path scratch;

    @Test
    void shellcheckFindsNothing() throws IOException, InterruptedException {
        Path shellcheck = Program.findOnPath("shellcheck", System.getenv().getOrDefault("PATH", ""))
                .orElse(null);
        Assumptions.assumeTrue(shellcheck != null, "shellcheck is not installed: apt-get install shellcheck");
        Path repo = LimaDouble.repoDir();
        List<String> command = new ArrayList<>(List.of(shellcheck.toString(), "-x"));
        for (String script : List.of(".ci/run", "scripts/jbang", "tests/doubles/limactl")) {
            command.add(repo.resolve(script).toString());
        }
        command.add(guestScript("find-socket.sh", GuestDaemon.FIND_SOCKET).toString());
        command.add(guestScript("log-tail.sh", GuestDaemon.LOG_TAIL).toString());

        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String report = new String(process.getInputStream().readAllBytes());

        assertThat(process.waitFor()).as(report).isZero();
    }

    private Path guestScript(String name, String body) throws IOException {
        return Files.writeString(scratch.resolve(name), "#!/bin/sh\n" + body + "\n");
    }
}
