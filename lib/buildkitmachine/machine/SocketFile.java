package buildkitmachine.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Unix socket files on disk: told apart from every other kind of file, so that only sockets are ever removed. */
final class SocketFile {
    private static final int TYPE_MASK = 0170000;
    private static final int SOCKET = 0140000;

    private SocketFile() {
    }

    /** Whether the path is a socket itself (a link to one does not count). */
    static boolean isSocket(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & TYPE_MASK) == SOCKET;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Whether other users may write into the folder: group or others have write, without the sticky bit. */
    static boolean writableByOthers(Path folder) {
        try {
            int mode = (Integer) Files.getAttribute(folder, "unix:mode");
            return (mode & 0022) != 0 && (mode & 01000) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Makes a socket usable by its owner only. */
    static void ownerOnly(Path socket) {
        try {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            // The socket went away; the next status says so.
        }
    }

    /** Removes the path when it is a socket; anything else is left alone. */
    static boolean removeIfSocket(Path path) {
        if (!isSocket(path)) {
            return false;
        }
        try {
            return Files.deleteIfExists(path);
        } catch (IOException e) {
            return false;
        }
    }
}
