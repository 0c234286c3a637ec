package buildkitmachine.lima;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.nio.file.Path;

/**
 * One Lima instance as {@code limactl list --json} describes it. Only the keys the toolkit reads are kept; Lima adds
 * keys from release to release, so unknown ones are ignored.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record LimaInstance(
        String name,
        String status,
        String dir,
        String vmType,
        String arch,
        Integer cpus,
        Long memory,
        Long disk,
        String sshConfigFile,
        Integer sshLocalPort) {

    /** Both the host agent and the VM driver are alive. */
    public boolean running() {
        return "Running".equals(status);
    }

    /** Neither the host agent nor the VM driver is alive. */
    public boolean stopped() {
        return "Stopped".equals(status);
    }

    /** Only one of host agent and VM driver is alive: Lima needs {@code stop -f} before anything else. */
    public boolean broken() {
        return "Broken".equals(status);
    }

    /**
     * This instance as {@code limactl start} leaves it when it exits 0: Running, with its ssh port unknown until the
     * next list, since Lima picks the port anew at each start.
     */
    public LimaInstance started() {
        return new LimaInstance(name, "Running", dir, vmType, arch, cpus, memory, disk, sshConfigFile, null);
    }

    /** The instance folder. */
    public Path folder() {
        return Path.of(dir);
    }

    /** The ssh client configuration Lima rewrites at every start. */
    public Path sshConfig() {
        return sshConfigFile != null && !sshConfigFile.isBlank()
                ? Path.of(sshConfigFile) : folder().resolve("ssh.config");
    }
}
