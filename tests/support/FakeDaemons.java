package support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The fake buildkitd put where programs look for buildkitd: a {@code buildkitd} on a PATH folder that runs
 * {@code tests/doubles/FakeBuildkitd.java}, for the local driver and for the ssh driver's --start-daemon.
 */
public final class FakeDaemons {
    private FakeDaemons() {
    }

    /** Writes {@code buildkitd} (and a pass-through {@code rootlesskit}) into the folder; returns the folder. */
    public static Path install(Path folder, Path fakeSource, String extraOptions) {
        try {
            Files.createDirectories(folder);
            write(folder.resolve("buildkitd"), "#!/bin/sh\nexec java " + fakeSource + " \"$@\" " + extraOptions + "\n");
            // rootlesskit's own flags come first, then the command it runs in its namespace.
            write(folder.resolve("rootlesskit"), String.join("\n", "#!/bin/sh",
                    "while [ $# -gt 0 ] && [ \"${1#-}\" != \"$1\" ]; do shift; done",
                    "exec \"$@\"", ""));
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String content) throws IOException {
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** The fake's source in the repository. */
    public static Path source() {
        return LimaDouble.doublesDir().resolve("FakeBuildkitd.java");
    }
}
