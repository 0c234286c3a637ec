package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.ExitCode;
import buildkitmachine.MachineException;
import buildkitmachine.install.Launcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LauncherTest {
    @TempDir
    Path work;

    final Launcher launcher = new Launcher(Path.of("/opt/jdk/bin/java"), List.of("-XX:+UseSerialGC"),
            List.of("/cache/it's here/tool.jar", "/m2/dep.jar"), "buildkit_machine",
            Path.of("/state/.class-data/cli-1.jsa"));

    @Test
    void theScriptQuotesEveryPathAndPassesTheArgumentsOn() {
        String script = launcher.script();

        assertThat(script).startsWith("#!/bin/sh\n")
                .contains("jar='/cache/it'\\''s here/tool.jar'")
                .contains("archive='/state/.class-data/cli-1.jsa'")
                .contains("jbang_archive='/cache/it'\\''s here/tool.jsa'")
                .contains("exec '/opt/jdk/bin/java' \"$share\" '-XX:+UseSerialGC' -cp "
                        + "'/cache/it'\\''s here/tool.jar:/m2/dep.jar' 'buildkit_machine' \"$@\"");
    }

    @Test
    void installWritesAnExecutableFileAndReplacesOnlyItsOwn() throws Exception {
        Path written = launcher.installIn(work, false);

        assertThat(written).isEqualTo(work.resolve("buildkit-machine")).isExecutable();
        assertThat(Files.getPosixFilePermissions(written)).isEqualTo(PosixFilePermissions.fromString("rwxr-xr-x"));
        Launcher newer = new Launcher(launcher.java(), List.of(), List.of("/cache/newer.jar"), "buildkit_machine",
                launcher.archive());
        newer.installIn(work, false);
        assertThat(Files.readString(written)).contains("/cache/newer.jar").doesNotContain("it'\\''s");
        assertThat(work).isDirectoryNotContaining(p -> p.getFileName().toString().endsWith(".tmp"));
    }

    @Test
    void aFileThatIsNotALauncherOfOursIsRefusedAndKept() throws Exception {
        Path foreign = Files.writeString(work.resolve("buildkit-machine"), "#!/bin/sh\necho mine\n");

        assertThatThrownBy(() -> launcher.installIn(work, false))
                .isInstanceOfSatisfying(MachineException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCode.USAGE))
                .hasMessageContaining("is not a launcher that 'install' wrote");
        assertThat(foreign).hasContent("#!/bin/sh\necho mine");
    }

    @Test
    void aMissingFolderIsCreatedOnlyWhenAllowed() {
        Path missing = work.resolve("a/bin");

        assertThatThrownBy(() -> launcher.installIn(missing, false))
                .hasMessageContaining("is not a folder; create it or choose another with --dir");
        assertThat(work.resolve("a")).doesNotExist();
        assertThat(launcher.installIn(missing, true)).exists();
    }
}
