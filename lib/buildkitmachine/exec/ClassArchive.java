package buildkitmachine.exec;

import buildkitmachine.machine.AtomicFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A class data sharing archive made for one program of this toolkit on this Java and classpath: the classes that
 * runs of the program loaded, stored so that a later JVM maps them instead of reading, verifying and linking them
 * one by one. The JDK's own archive holds only JDK classes, and is relocated in every JVM; an archive of just the
 * classes a program uses starts it sooner and leaves it smaller.
 *
 * <p>Making one is a plain {@code java -Xshare:dump} over a class list that {@code -XX:DumpLoadedClassList} wrote.
 * The JVM checks an archive against its own build and the classpath's jars and quietly runs without one that no
 * longer fits, so a stale archive costs speed, never correctness.
 *
 * @param java the {@code java} program that makes and uses the archive
 * @param classpath the classpath it was made for
 * @param file the archive
 */
public record ClassArchive(Path java, String classpath, Path file) {
    /** The folder of archives in the toolkit's state folder; no machine's name starts with a dot. */
    public static final String FOLDER = ".class-data";
    private static final String CLASS_LIST_PROPERTY = "buildkitmachine.classlist";
    /** Longer than a dump takes on a busy 2-core machine (about 1.5 s). */
    private static final long DUMP_SECONDS = 60;

    /**
     * The archive of one program ({@code role}, e.g. {@code keeper}) for the running Java and the given classpath,
     * in {@code folder}. Its name changes with the Java and the classpath, so that builds never share one.
     */
    public static ClassArchive of(Path folder, String role, Path java, String classpath) {
        String key = java + "\n" + System.getProperty("java.vm.version") + "\n" + classpath;
        return new ClassArchive(java, classpath, folder.resolve(role + "-" + Integer.toHexString(key.hashCode())
                + ".jsa"));
    }

    public boolean exists() {
        return Files.isRegularFile(file);
    }

    /**
     * JVM options for a run of the program: the archive where it exists; otherwise the JDK's own archive, and the
     * run records the classes it loads in a new temporary file (outside the state folder, which may be small), to
     * make the archive from; {@link #recordedClassList} names it in that run. The JVM says nothing on stdout.
     */
    public List<String> jvmOptions() throws IOException {
        List<String> options = new ArrayList<>(List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
        if (exists()) {
            options.add("-XX:SharedArchiveFile=" + file);
        } else {
            Path classList = Files.createTempFile("buildkit-machine-", ".classlist");
            options.add("-Xshare:auto");
            options.add("-XX:DumpLoadedClassList=" + classList);
            options.add("-D" + CLASS_LIST_PROPERTY + "=" + classList);
        }
        return options;
    }

    /** The class list this JVM records, when it was started with {@link #jvmOptions} and no archive. */
    public static Optional<Path> recordedClassList() {
        return Optional.ofNullable(System.getProperty(CLASS_LIST_PROPERTY)).map(Path::of);
    }

    /**
     * Makes the archive from the class lists given (runs of the program), keeping each class once. The archive
     * appears whole or not at all; a failure is an {@link IOException} with the JVM's last words.
     */
    public void make(List<Path> classLists) throws IOException, InterruptedException {
        Path folder = file.getParent();
        if (!Files.isDirectory(folder)) {
            Files.createDirectories(folder);
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
        }
        Path list = Files.createTempFile(file.getParent(), ".classes", ".tmp");
        Path archive = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Set<String> lines = new LinkedHashSet<>();
            for (Path classList : classLists) {
                lines.addAll(completeLines(classList));
            }
            Files.write(list, lines, StandardCharsets.UTF_8);
            Process dump = new ProcessBuilder(java.toString(), "-Xshare:dump", "-XX:SharedClassListFile=" + list,
                    "-XX:SharedArchiveFile=" + archive, "-cp", classpath)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
            byte[] output = dump.getInputStream().readAllBytes();
            if (!dump.waitFor(DUMP_SECONDS, TimeUnit.SECONDS)) {
                dump.destroyForcibly();
                throw new IOException("java -Xshare:dump took over " + DUMP_SECONDS + " s");
            }
            if (dump.exitValue() != 0 || !Files.isRegularFile(archive)) {
                List<String> said = new String(output, StandardCharsets.UTF_8).lines().toList();
                throw new IOException("java -Xshare:dump failed: "
                        + String.join(" / ", said.subList(Math.max(0, said.size() - 3), said.size())));
            }
            AtomicFile.replace(archive, file);
            removeOlderBuilds();
        } finally {
            Files.deleteIfExists(list);
            Files.deleteIfExists(archive);
        }
    }

    /**
     * Removes the same program's archives of other builds, so that updates do not pile them up. A JVM that has one
     * mapped keeps it until it exits; a later run of an older build records anew.
     */
    private void removeOlderBuilds() throws IOException {
        String name = file.getFileName().toString();
        String role = name.substring(0, name.lastIndexOf('-') + 1);
        try (Stream<Path> files = Files.list(file.getParent())) {
            for (Path other : files.filter(f -> !f.equals(file)).toList()) {
                String otherName = other.getFileName().toString();
                if (otherName.startsWith(role) && otherName.endsWith(".jsa")) {
                    Files.deleteIfExists(other);
                }
            }
        }
    }

    /** The lines of a class list that a running JVM may still be writing, without a last line it has not ended. */
    private static List<String> completeLines(Path classList) throws IOException {
        String text = Files.readString(classList, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : text.substring(0, end).lines().toList();
    }
}
