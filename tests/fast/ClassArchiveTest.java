package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.exec.ClassArchive;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Class data archives, made by the real {@code java -Xshare:dump} of the JDK running the tests. */
class ClassArchiveTest {
    @TempDir
    Path work;

    final Path java = Path.of(System.getProperty("java.home"), "bin", "java");

    @Test
    void anArchiveIsMadeFromCompleteLinesAndReplacesOnlyOlderBuildsOfTheSameProgram() throws Exception {
        Path folder = work.resolve("archives");
        ClassArchive archive = ClassArchive.of(folder, "cli", java, work.toString());
        Files.createDirectories(folder);
        Path older = Files.writeString(folder.resolve("cli-0ld.jsa"), "an older build's");
        Path keeper = Files.writeString(folder.resolve("keeper-0ld.jsa"), "another program's");
        // The last line is cut off, as in a list that a running JVM is still writing.
        Path list = Files.writeString(work.resolve("a.classlist"), "java/lang/Object\njava/lang/String\njava/ut");

        archive.make(List.of(list, list));

        assertThat(archive.exists()).isTrue();
        assertThat(archive.file()).isNotEmptyFile().hasParent(folder);
        assertThat(older).doesNotExist();
        assertThat(keeper).exists();
        assertThat(folder).isDirectoryNotContaining(f -> f.getFileName().toString().endsWith(".tmp"));
        assertThat(ClassArchive.of(folder, "cli", java, work + "/other.jar").file()).isNotEqualTo(archive.file());
    }

    @Test
    void aFailedDumpSaysWhyAndLeavesNoFile() throws Exception {
        // A java that fails as a dump does on a full disk: it says why on its output and exits with 1.
        Path failing = Files.writeString(work.resolve("java"), "#!/bin/sh\necho 'Error: No space left on device'\n"
                + "exit 1\n");
        failing.toFile().setExecutable(true);
        Path folder = work.resolve("archives");
        ClassArchive archive = new ClassArchive(failing, work.toString(), folder.resolve("cli-1.jsa"));
        Path list = Files.writeString(work.resolve("a.classlist"), "java/lang/Object\n");

        assertThatThrownBy(() -> archive.make(List.of(list)))
                .isInstanceOf(IOException.class)
                .hasMessage("java -Xshare:dump failed: Error: No space left on device");
        assertThat(archive.exists()).isFalse();
        assertThat(folder).isEmptyDirectory();
    }

    @Test
    void withoutAnArchiveARunRecordsItsClassesInATemporaryFileAndWithOneItMapsIt() throws Exception {
        ClassArchive archive = ClassArchive.of(work, "keeper", java, work.toString());

        List<String> recording = archive.jvmOptions();

        String list = recording.stream().filter(o -> o.startsWith("-XX:DumpLoadedClassList=")).findFirst()
                .orElseThrow().substring("-XX:DumpLoadedClassList=".length());
        assertThat(Path.of(list)).exists().hasParent(Path.of(System.getProperty("java.io.tmpdir")));
        assertThat(recording).contains("-Xshare:auto", "-Dbuildkitmachine.classlist=" + list, "-Xlog:cds=off")
                .noneMatch(o -> o.startsWith("-XX:SharedArchiveFile="));
        Files.delete(Path.of(list));

        Files.writeString(archive.file(), "archived");
        assertThat(archive.jvmOptions()).contains("-XX:SharedArchiveFile=" + archive.file(), "-Xlog:cds=off")
                .noneMatch(o -> o.startsWith("-XX:DumpLoadedClassList=") || o.startsWith("-Xshare:"));
    }
}
