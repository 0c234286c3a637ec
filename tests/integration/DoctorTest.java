package integration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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

/** doctor against a machine of the limactl double, healthy and then broken one way at a time. */
class DoctorTest {
    TestSshd sshd;
    LimaDouble lima;
    Path work;
    CliRunner cli;
    Path socket;

    @BeforeEach
    void startHealthyMachine() throws IOException {
        sshd = TestSshd.start();
        lima = new LimaDouble(sshd, GuestBoot.fakeBuildkitd(sshd, ""));
        work = Files.createTempDirectory(Path.of("/tmp"), "bkmd");
        Map<String, String> env = new HashMap<>(lima.env());
        env.put("PATH", LimaDouble.doublesDir() + ":" + LifecycleTest.SYSTEM_PATH);
        env.put("HOME", work.toString());
        env.put("BUILDKIT_MACHINE_HOME", work.resolve("state").toString());
        cli = new CliRunner(env, work);
        socket = work.resolve("doc.sock");
        Run start = cli.run("start", "doc", "--driver", "lima", "--unix", socket.toString(), "--timeout", "120s");
        assertThat(start.code()).as(start.toString()).isZero();
    }

    @AfterEach
    void stopGuest() {
        if (cli != null) {
            cli.deleteMachines(work.resolve("state"));
        }
        TestSshd.closeAll(lima, sshd);
        TestSshd.deleteTree(work);
    }

    JsonNode findings(Run run) throws IOException {
        return LifecycleTest.JSON.readTree(run.out()).get("findings");
    }

    JsonNode finding(JsonNode findings, String check) {
        for (JsonNode f : findings) {
            if (f.get("check").asText().equals(check)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + check + " in " + findings);
    }

    @Test
    void aHealthyMachineIsWellAndTheGuestsClockAndDiskAreRead() throws IOException {
        Run text = cli.run("doctor");
        Run json = cli.run("doctor", "doc", "--json");

        assertThat(text.code()).as(text.toString()).isZero();
        assertThat(text.out()).contains("ok    doc: endpoint", "ok    doc: clock", "ok    ssh").containsPattern(
                "ok    limactl +Lima \\d+\\.\\d+\\.\\d+").contains("all is well");
        assertThat(json.code()).isZero();
        JsonNode findings = findings(json);
        assertThat(LifecycleTest.JSON.readTree(json.out()).get("ok").asBoolean()).isTrue();
        assertThat(finding(findings, "doc: clock").get("detail").asText()).matches("the guest's clock is \\d+ ms .*");
        assertThat(finding(findings, "doc: disk").get("detail").asText()).contains("GiB free of").contains("guest");
        assertThat(finding(findings, "doc: socket").get("status").asText()).isEqualTo("ok");
    }

    @Test
    void aSocketOthersCanUseFailsWithItsFix() throws IOException {
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));

        Run run = cli.run("doctor", "--json");

        assertThat(run.code()).isEqualTo(7);
        JsonNode socketFinding = finding(findings(run), "doc: socket");
        assertThat(socketFinding.get("status").asText()).isEqualTo("fail");
        assertThat(socketFinding.get("fix").asText()).isEqualTo("chmod 600 " + socket);
    }

    @Test
    void aKilledKeeperAndAStoppedVmAreFoundWithWhatToRun() throws Exception {
        long keeper = LifecycleTest.JSON.readTree(cli.run("status", "doc", "--json").out()).at("/forward/pid")
                .asLong();
        ProcessHandle process = ProcessHandle.of(keeper).orElseThrow();
        process.destroyForcibly();
        process.onExit().get();

        Run killed = cli.run("doctor", "doc");

        assertThat(killed.code()).isEqualTo(7);
        assertThat(killed.out()).contains("fail  doc: keeper", "(fix: buildkit-machine start doc)");

        assertThat(lima.run("stop", "doc").exitCode()).isZero();
        Run stopped = cli.run("doctor", "doc");

        assertThat(stopped.out()).contains("warn  doc: state", "Stopped");
    }

    @Test
    void aMissingLimactlFailsForALimaMachineAndAnOpenStateFolderToo() throws IOException {
        Files.setPosixFilePermissions(work.resolve("state"), PosixFilePermissions.fromString("rwxrwxrwx"));
        CliRunner noLima = cli.with(Map.of("PATH", LifecycleTest.SYSTEM_PATH));

        Run run = noLima.run("doctor");

        assertThat(run.code()).isEqualTo(7);
        assertThat(run.out()).contains("fail  limactl", "not installed; needed for Lima machines",
                "fail  state folder", "(fix: chmod 700 " + work.resolve("state") + ")");
        assertThat(cli.run("doctor", "nothing-here").code()).isEqualTo(6);
    }
}
