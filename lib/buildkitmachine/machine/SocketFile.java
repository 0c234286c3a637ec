package buildkitmachine.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

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
