package fast;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import support.LimaDouble;

/** The entry script lists its sources one by one (JBang resolves them relative to a URL too, globs it cannot). */
class EntryScriptTest {
    private final Path repo = LimaDouble.repoDir();

    @Test
    void everyLibrarySourceIsListedAndNothingElse() throws IOException {
        List<String> listed = Files.readAllLines(repo.resolve("buildkit-machine.java")).stream()
                .filter(l -> l.startsWith("//SOURCES "))
                .map(l -> l.substring("//SOURCES ".length()).strip())
                .sorted()
                .toList();
        List<String> present;
        try (Stream<Path> files = Files.walk(repo.resolve("lib"))) {
            present = files.filter(f -> f.toString().endsWith(".java"))
                    .map(f -> repo.relativize(f).toString())
                    .sorted()
                    .toList();
        }

        assertThat(listed).isEqualTo(present);
    }

    @Test
    void dependenciesArePinnedToExactVersions() throws IOException {
        List<String> deps = Files.readAllLines(repo.resolve("buildkit-machine.java")).stream()
                .filter(l -> l.startsWith("//DEPS "))
                .toList();

        assertThat(deps).isNotEmpty().allMatch(l -> l.matches("//DEPS [\\w.-]+:[\\w.-]+:\\d+(\\.\\d+)*"));
    }
}
