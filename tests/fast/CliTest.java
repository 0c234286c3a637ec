package fast;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import support.CliRunner;
import support.CliRunner.Run;

class CliTest {
    @TempDir
    Path home;

    Run run(String... args) {
        return new CliRunner(Map.of("PATH", home.resolve("bin").toString(), "HOME", home.toString()), home).run(args);
    }

    @Test
    void helpListsEveryCommandAndTheExitCodes() {
        Run help = run("--help");

        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("start", "stop", "status", "list", "env", "ssh", "delete", "Exit codes:");
    }

    @Test
    void everySubcommandHasHelpWithAnExample() {
        for (String command : new String[] {"start", "stop", "status", "list", "env", "ssh", "delete"}) {
            Run help = run(command, "--help");

            assertThat(help.code()).as(command).isZero();
            assertThat(help.out()).as(command).contains("Usage: buildkit-machine " + command).contains("Example");
        }
    }

    @Test
    void aCommandNamedByItsAliasRunsAndAMistypedOneIsRefusedAgainstTheWholeTree() {
        Run alias = run("ls", "--json");
        Run typo = run("stat");

        assertThat(alias.code()).as(alias.err()).isZero();
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err()).contains("'stat'").contains("buildkit-machine --help");
    }

    @Test
    void versionIsPrinted() {
        assertThat(run("--version").out()).startsWith("buildkit-machine ");
    }

    @Test
    void aMissingLimactlIsReportedWithHowToInstallIt() {
        Run start = run("start", "--driver", "lima");

        assertThat(start.code()).isEqualTo(3);
        assertThat(start.err()).contains("limactl was not found on PATH", "brew install lima");
        assertThat(home.resolve(".buildkit-machine")).doesNotExist();
    }

    @Test
    void withNeitherBuildkitNorLimaTheErrorNamesBothWays() {
        Run start = run("start");

        assertThat(start.code()).isEqualTo(3);
        assertThat(start.err()).contains("neither BuildKit nor Lima", "--driver local", "--driver lima");
        assertThat(start.err().lines()).hasSize(1);
        assertThat(home.resolve(".buildkit-machine")).doesNotExist();
    }

    @Test
    void aMissingSshIsReportedWithHowToInstallIt() throws IOException {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.writeString(bin.resolve("limactl"), "#!/bin/sh\nexit 99\n");
        bin.resolve("limactl").toFile().setExecutable(true);

        Run start = run("start", "--driver", "lima");

        assertThat(start.code()).isEqualTo(3);
        assertThat(start.err()).contains("ssh was not found on PATH", "openssh-client");
    }

    @Test
    void verboseAndQuietExcludeEachOther() {
        Run both = run("status", "-v", "-q");

        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("mutually exclusive");
    }

    @Test
    void statusWithoutLimactlSaysWhatIsMissing() {
        Run status = run("status", "nothing-here");

        assertThat(status.code()).isEqualTo(3);
        assertThat(status.err()).contains("limactl was not found");
    }

    @Test
    void envOfAnUnknownMachineSaysHowToStartIt() {
        Run env = run("env", "nothing-here");

        assertThat(env.code()).isEqualTo(6);
        assertThat(env.err()).contains("buildkit-machine start nothing-here");
        assertThat(env.out()).isEmpty();
    }

    @Test
    void listWithNoMachinesPrintsOnlyTheHeaderAndNeedsNoLima() {
        Run list = run("list");

        assertThat(list.code()).isZero();
        assertThat(list.out().lines().toList()).hasSize(1);
        assertThat(list.out()).contains("NAME", "DRIVER", "STATE", "ENDPOINTS", "PLATFORMS");
        assertThat(run("list", "--json").out()).isEmpty();
    }
}
