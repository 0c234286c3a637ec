package buildkitmachine.machine;

import buildkitmachine.MachineException;
import buildkitmachine.config.ConfigFile;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The folder where the toolkit keeps what it knows about machines: one subfolder per machine, private to the user.
 * Files are replaced atomically so that a crash or a full disk never leaves half a file behind.
 */
public final class MachineStore {
    /**
     * Jackson's mapper, which writes records ({@link RecordReader} reads them); made on first use, so that commands
     * that write no file skip its 50 ms start.
     */
    static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

        private Json() {
        }
    }

    private static final String RECORD = "machine.json";

    private final Path root;

    public MachineStore(Path root) {
        this.root = root;
    }

    /** The folder of all machines. */
    public Path root() {
        return root;
    }

    /** One machine's folder; it may not exist yet. */
    public Path folder(String name) {
        return root.resolve(name);
    }

    /** Creates the machine's folder, readable by its owner only. */
    public Path create(String name) {
        Path folder = folder(name);
        try {
            createPrivate(root);
            createPrivate(folder);
            return folder;
        } catch (IOException e) {
            throw MachineException.state("cannot create " + folder + " (" + e.getMessage()
                    + "); check that " + root + " is writable and the disk is not full");
        }
    }

    private static void createPrivate(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            Files.createDirectories(folder);
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** The remembered record of a machine, if the toolkit knows it. */
    public Optional<MachineRecord> read(String name) {
        Path file = folder(name).resolve(RECORD);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(RecordReader.machine(file));
        } catch (IOException e) {
            throw MachineException.state(file + " is damaged (" + e.getMessage().lines().findFirst().orElse("")
                    + "); remove it and run 'buildkit-machine start " + name + "' again");
        }
    }

    /** Saves a machine's record. */
    public void write(MachineRecord record) {
        writeJson(create(record.name()).resolve(RECORD), record);
    }

    /** Writes a value as JSON through a temporary file and a rename, so readers never see half of it. */
    static void writeJson(Path file, Object value) {
        byte[] bytes;
        try {
            bytes = Json.MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw MachineException.internal("cannot write " + file + " as JSON: " + e.getMessage(), e);
        }
        AtomicFile.write(file, bytes);
    }

    /** Names of all machines the toolkit has a folder for. */
    public List<String> names() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> folders = Files.list(root)) {
            List<String> names = new ArrayList<>();
            folders.filter(f -> Files.isRegularFile(f.resolve(RECORD)))
                    .map(f -> f.getFileName().toString())
                    .sorted()
                    .forEach(names::add);
            return names;
        } catch (IOException e) {
            throw MachineException.state("cannot list " + root + ": " + e.getMessage());
        }
    }

    /**
     * Removes what the toolkit kept of a machine. The machine's configuration file is the user's, so it stays (and
     * with it the folder), ready for a machine of that name again.
     */
    public void forget(String name) {
        Path folder = folder(name);
        Path config = folder.resolve(ConfigFile.NAME);
        if (!Files.isRegularFile(config, LinkOption.NOFOLLOW_LINKS)) {
            deleteTree(folder);
            return;
        }
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.filter(f -> !f.equals(config)).toList()) {
                deleteTree(file);
            }
        } catch (IOException e) {
            throw MachineException.state("cannot remove what is in " + folder + ": " + e.getMessage());
        }
    }

    /** Removes a folder of the toolkit's with everything in it; links are removed, never followed. */
    public static void deleteTree(Path folder) {
        if (!Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw MachineException.state("cannot remove " + folder + ": " + e.getMessage());
        }
    }

    /**
     * Holds the machine's lock while a command changes it, so that two starts never race. When another process holds
     * it, this waits, saying so once.
     */
    public Lock lock(String name, Runnable whenBusy) {
        Path file = create(name).resolve("lock");
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                whenBusy.run();
                lock = channel.lock();
            }
            return new Lock(channel, lock);
        } catch (IOException e) {
            throw MachineException.state("cannot lock " + file + " (" + reason(e) + "); check that " + root
                    + " is writable and the disk is not full");
        }
    }

    /** The cause without the path the message already names. */
    private static String reason(IOException e) {
        return e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                : e.getClass().getSimpleName();
    }

    /** A held machine lock; closing releases it. */
    public record Lock(FileChannel channel, FileLock lock) implements AutoCloseable {
        @Override
        public void close() {
            try {
                lock.release();
                channel.close();
            } catch (IOException ignored) {
                // Closing the channel releases the lock in any case.
            }
        }
    }
}
