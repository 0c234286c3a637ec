package buildkitmachine.machine;

import buildkitmachine.MachineException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Files written whole. Apart from {@link MachineStore}, whose Jackson mapper is made when the class is first used:
 * the forward keeper writes its state with this and never loads Jackson; the configuration files use it too.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /** Writes a file through a temporary file and a rename, so readers never see half of it. */
    public static void write(Path file, byte[] bytes) {
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(temporary, bytes);
            replace(temporary, file);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // The original message below matters more than a leftover temporary file.
            }
            throw MachineException.state("cannot write " + file + " (" + e.getMessage()
                    + "); check that the folder is writable and the disk is not full");
        }
    }

    /**
     * Puts a finished temporary file in the place of {@code file} with one rename, where the file system can; the
     * temporary file must be in the same folder.
     */
    public static void replace(Path temporary, Path file) throws IOException {
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
