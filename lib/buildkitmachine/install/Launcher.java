package buildkitmachine.install;

import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.exec.ClassArchive;
import buildkitmachine.machine.AtomicFile;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.Machine;
import buildkitmachine.machine.MachineRecord;
import buildkitmachine.machine.MachineStore;
import buildkitmachine.ssh.ShellQuote;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A small shell script that starts the toolkit straight on Java, with the classpath and JVM options of the run that
 * wrote it: JBang resolves and builds once, and each later command skips JBang's own JVM (about 3 s). It starts
 * from a class data archive of its own where {@link #makeArchive} made one, else from JBang's of the same build.
 *
 * @param java the {@code java} program
 * @param options JVM options, without class-data archive options (the script adds the archive when it exists)
 * @param classpath the built script's jar first, then its dependencies
 * @param mainClass the entry class
 * @param archive the launcher's own class data archive, which may not exist yet
 */
public record Launcher(Path java, List<String> options, List<String> classpath, String mainClass, Path archive) {
    /** The line that tells a launcher of ours from any other file of the same name. */
    static final String MARKER = "# buildkit-machine launcher, written by 'buildkit-machine install'";
    /** The program's name on PATH. */
    public static final String NAME = "buildkit-machine";
    /**
     * Read-only commands whose classes go into the launcher's archive: those that scripts run most, and so the ones
     * whose start matters most.
     */
    private static final List<List<String>> TRAINING = List.of(List.of("status", "--json"), List.of("env"),
            List.of("list", "--json"));
    /** Far longer than a training command takes (about 0.3 s). */
    private static final long TRAINING_SECONDS = 60;

    public Launcher {
        options = List.copyOf(options);
        classpath = List.copyOf(classpath);
    }

    /**
     * The launcher that starts what this process runs: its Java, its JVM options, its classpath; its archive goes
     * in {@code archiveFolder}.
     */
    public static Launcher ofThisProcess(String mainClass, Path archiveFolder) {
        List<String> options = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(o -> !o.startsWith("-XX:SharedArchiveFile=") && !o.startsWith("-XX:ArchiveClassesAtExit=")
                        && !o.startsWith("-Xshare:") && !o.startsWith("-XX:DumpLoadedClassList="))
                .toList();
        List<String> classpath = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ClassArchive archive = ClassArchive.of(archiveFolder, "cli", java, String.join(File.pathSeparator, classpath));
        return new Launcher(java, options, classpath, mainClass, archive.file());
    }

    /** JBang's class data archive of the script's jar: beside it, with {@code .jsa} for {@code .jar}. */
    String jbangArchive() {
        String jar = classpath.get(0);
        return (jar.endsWith(".jar") ? jar.substring(0, jar.length() - 4) : jar) + ".jsa";
    }

    /**
     * Makes the launcher's class data archive: runs the {@link #TRAINING} commands about a machine of their own in
     * {@code work} (a stopped one, remembered but never started; they read, and change nothing), recording the
     * classes they load, and archives those with the classes of the JDK's own archive. Unlike JBang's archive,
     * which holds what the first run loaded, it also holds picocli's classes, which an archive made at a JVM's exit
     * cannot take (they are Java 5 class files).
     */
    public void makeArchive(Path work, Map<String, String> env) throws IOException, InterruptedException {
        String path = String.join(File.pathSeparator, classpath);
        List<Path> lists = new ArrayList<>();
        // A static archive replaces the JDK's; with its classes, a class the training missed is never read from
        // the JDK's modules instead.
        Path jdkList = java.toAbsolutePath().getParent().resolveSibling("lib").resolve("classlist");
        if (Files.isRegularFile(jdkList)) {
            lists.add(jdkList);
        }
        new MachineStore(work.resolve("state")).write(MachineRecord.fresh(Machine.DEFAULT_NAME, "local")
                .forwarding(List.of(new Endpoint.Unix(work.resolve("training.sock"))), null, List.of()));
        for (List<String> args : TRAINING) {
            Path list = work.resolve("training-" + args.get(0) + ".classlist");
            List<String> command = new ArrayList<>(List.of(java.toString()));
            command.addAll(options);
            command.addAll(List.of("-Xshare:auto", "-XX:DumpLoadedClassList=" + list, "-cp", path, mainClass));
            command.addAll(args);
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().clear();
            builder.environment().putAll(env);
            builder.environment().put(Host.STATE_HOME_VARIABLE, work.resolve("state").toString());
            Process run = builder.start();
            if (!run.waitFor(TRAINING_SECONDS, TimeUnit.SECONDS)) {
                run.destroyForcibly();
                throw new IOException("'" + String.join(" ", args) + "' took over " + TRAINING_SECONDS + " s");
            }
            if (Files.isRegularFile(list)) {
                lists.add(list);
            }
        }
        new ClassArchive(java, path, archive).make(lists);
    }

    /** The script's text. Every path in it is quoted, so no path is ever read as shell syntax. */
    public String script() {
        String jar = ShellQuote.quote(classpath.get(0));
        return String.join("\n",
                "#!/bin/sh",
                MARKER + ".",
                "# It runs the build below without JBang; after updating buildkit-machine, run 'install' again.",
                "jar=" + jar,
                "if [ ! -f \"$jar\" ]; then",
                "  echo \"buildkit-machine: error: $jar is gone (was JBang's cache cleared?); run"
                        + " 'jbang buildkit-machine@... install' again\" >&2",
                "  exit 3",
                "fi",
                "archive=" + ShellQuote.quote(archive.toString()),
                "jbang_archive=" + ShellQuote.quote(jbangArchive()),
                "if [ -f \"$archive\" ]; then share=\"-XX:SharedArchiveFile=$archive\"",
                "elif [ -f \"$jbang_archive\" ]; then share=\"-XX:SharedArchiveFile=$jbang_archive\"",
                "else share=-Xshare:auto; fi",
                "exec " + ShellQuote.quote(java.toString()) + " \"$share\" "
                        + (options.isEmpty() ? "" : ShellQuote.join(options) + " ")
                        + "-cp " + ShellQuote.quote(String.join(File.pathSeparator, classpath)) + " "
                        + ShellQuote.quote(mainClass) + " \"$@\"",
                "");
    }

    /**
     * Writes the launcher into {@code folder} as {@value #NAME}, replacing only a launcher of ours. The folder must
     * exist unless {@code create}; the file appears whole or not at all.
     */
    public Path installIn(Path folder, boolean create) {
        Path target = folder.resolve(NAME);
        if (!Files.isDirectory(folder)) {
            if (!create || Files.exists(folder)) {
                throw MachineException.usage(folder + " is not a folder; create it or choose another with --dir");
            }
            try {
                Files.createDirectories(folder);
            } catch (IOException e) {
                throw MachineException.usage("cannot create " + folder + ": " + e.getMessage()
                        + "; choose another folder with --dir");
            }
        }
        if (Files.exists(target) && !ours(target)) {
            throw MachineException.usage(target + " exists and is not a launcher that 'install' wrote; move it"
                    + " away or choose another folder with --dir");
        }
        Path temporary = null;
        try {
            temporary = Files.createTempFile(folder, "." + NAME, ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            Files.writeString(temporary, script(), StandardCharsets.UTF_8);
            AtomicFile.replace(temporary, target);
            return target;
        } catch (IOException e) {
            throw MachineException.usage("cannot write " + target + ": " + e.getMessage()
                    + "; choose a folder you can write to with --dir");
        } finally {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException ignored) {
                    // Nothing of ours is left but an empty temporary file.
                }
            }
        }
    }

    private static boolean ours(Path file) {
        try {
            return Files.isRegularFile(file) && Files.readString(file, StandardCharsets.UTF_8).contains(MARKER);
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }
}
