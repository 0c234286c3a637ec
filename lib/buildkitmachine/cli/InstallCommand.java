package buildkitmachine.cli;

import buildkitmachine.MachineException;
import buildkitmachine.exec.ClassArchive;
import buildkitmachine.install.Launcher;
import buildkitmachine.machine.MachineStore;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "install",
        description = {"Put a fast buildkit-machine launcher on your PATH.",
            "It starts this very build straight on Java, skipping JBang's own JVM on every command; run it again "
                    + "after an update."},
        footer = {"", "Examples:",
            "  jbang buildkit-machine@OWNER/buildkit-machine install",
            "  scripts/jbang buildkit-machine.java install --dir /usr/local/bin"})
final class InstallCommand extends MachineCommand {
    /** The entry script's class, which JBang's {@code //MAIN} names. */
    static final String ENTRY_CLASS = "buildkit_machine";

    @Option(names = "--dir", paramLabel = "DIR",
            description = "The folder to write it in (default ~/.local/bin, created if missing).")
    String dir;

    @Option(names = "--json", description = "Print {\"launcher\", \"java\", \"onPath\", \"archive\"} instead.")
    boolean json;

    @Override
    public Integer call() {
        try {
            Class.forName(ENTRY_CLASS, false, getClass().getClassLoader());
        } catch (ClassNotFoundException e) {
            throw MachineException.usage("this program is not the buildkit-machine entry script (no class "
                    + ENTRY_CLASS + "); run 'install' through buildkit-machine.java");
        }
        Map<String, String> env = host().env();
        Path folder = dir == null ? Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".local", "bin")
                : cli().workingFolder().resolve(dir).toAbsolutePath().normalize();
        Path archives = host().stateHome().resolve(ClassArchive.FOLDER);
        Launcher launcher = Launcher.ofThisProcess(ENTRY_CLASS, archives);
        Path written = launcher.installIn(folder, dir == null);
        boolean archived = makeArchive(launcher, archives, env);
        boolean onPath = Arrays.stream(env.getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(p -> !p.isEmpty() && Path.of(p).toAbsolutePath().normalize().equals(folder));
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("launcher", written.toString());
            result.put("java", launcher.java().toString());
            result.put("onPath", onPath);
            result.put("archive", archived ? launcher.archive().toString() : null);
            printJson(result);
        } else {
            out().println(written);
            out().flush();
        }
        if (!onPath) {
            host().log().warn(folder + " is not on your PATH; add it, e.g. export PATH=\"" + folder + ":$PATH\"");
        }
        return 0;
    }

    /**
     * Makes the launcher's class data archive, which saves 7 to 25% of a command's start, as measured; without it
     * the launcher still works, starting from JBang's archive.
     */
    private boolean makeArchive(Launcher launcher, Path archives, Map<String, String> env) {
        host().log().progress("making a class data archive for faster starts (a few seconds)");
        Path work = null;
        try {
            work = Files.createTempDirectory("buildkit-machine-install");
            launcher.makeArchive(work, env);
            return true;
        } catch (IOException e) {
            host().log().warn("no class data archive (" + e.getMessage() + "); the launcher works, a little slower");
            return false;
        } catch (InterruptedException e) {
            throw MachineException.interrupted("making the class data archive");
        } finally {
            if (work != null) {
                MachineStore.deleteTree(work);
            }
        }
    }
}
