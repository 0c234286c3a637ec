package buildkitmachine.install;

import buildkitmachine.MachineException;
import buildkitmachine.ssh.ShellQuote;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;

/**
 * A small shell script that starts the toolkit straight on Java, with the classpath and JVM options of the run that
 * wrote it: JBang resolves and builds once, and each later command skips JBang's own JVM (about 3 s) and starts in
 * the time of a bare JVM. It uses JBang's class data archive of the same build where there is one.
 *
 * @param java the {@code java} program
 * @param options JVM options, without class-data archive options (the script adds the archive when it exists)
 * @param classpath the built script's jar first, then its dependencies
 * @param mainClass the entry class
 */
public record Launcher(Path java, List<String> options, List<String> classpath, String mainClass) {
    /** The line that tells a launcher of ours from any other file of the same name. */
    static final String MARKER = "# buildkit-machine launcher, written by 'buildkit-machine install'";
    /** The program's name on PATH. */
    public static final String NAME = "buildkit-machine";

    public Launcher {
        options = List.copyOf(options);
        classpath = List.copyOf(classpath);
    }

    /** The launcher that starts what this process runs: its Java, its JVM options, its classpath. */
    public static Launcher ofThisProcess(String mainClass) {
        List<String> options = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(o -> !o.startsWith("-XX:SharedArchiveFile=") && !o.startsWith("-XX:ArchiveClassesAtExit="))
                .toList();
        List<String> classpath = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));
        return new Launcher(Path.of(System.getProperty("java.home"), "bin", "java"), options, classpath, mainClass);
    }

    /** JBang's class data archive of the script's jar: beside it, with {@code .jsa} for {@code .jar}. */
    String archive() {
        String jar = classpath.get(0);
        return (jar.endsWith(".jar") ? jar.substring(0, jar.length() - 4) : jar) + ".jsa";
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
                "archive=" + ShellQuote.quote(archive()),
                "if [ -f \"$archive\" ]; then share=\"-XX:SharedArchiveFile=$archive\"; else share=-Xshare:auto; fi",
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
            try {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
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
