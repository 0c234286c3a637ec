package buildkitmachine.lima;

import java.util.ArrayList;
import java.util.List;

/**
 * The size and kind of VM asked for when an instance is created; empty fields leave Lima's defaults. Memory and disk
 * are in GiB, as limactl takes them.
 */
public record LimaResources(Integer cpus, Double memoryGib, Double diskGib, String arch, String vmType,
        Boolean rosetta) {
    public LimaResources(Integer cpus, Double memoryGib, Double diskGib, String arch, String vmType) {
        this(cpus, memoryGib, diskGib, arch, vmType, null);
    }

    /** Lima's own defaults for everything. */
    public static LimaResources defaults() {
        return new LimaResources(null, null, null, null, null, null);
    }

    /** These fields where set, else the other's: flags over the configuration files. */
    public LimaResources orElse(LimaResources other) {
        return new LimaResources(cpus != null ? cpus : other.cpus, memoryGib != null ? memoryGib : other.memoryGib,
                diskGib != null ? diskGib : other.diskGib, arch != null ? arch : other.arch,
                vmType != null ? vmType : other.vmType, rosetta != null ? rosetta : other.rosetta);
    }

    /** The limactl create flags for the fields that are set. */
    List<String> flags() {
        List<String> flags = new ArrayList<>();
        add(flags, "--cpus", cpus == null ? null : cpus.toString());
        add(flags, "--memory", gib(memoryGib));
        add(flags, "--disk", gib(diskGib));
        add(flags, "--arch", arch);
        add(flags, "--vm-type", vmType);
        if (Boolean.TRUE.equals(rosetta)) {
            // Rosetta runs amd64 code on Apple silicon; Lima offers it for vz VMs only and says so if it cannot.
            flags.add("--rosetta");
        }
        return flags;
    }

    private static void add(List<String> flags, String flag, String value) {
        if (value != null) {
            flags.add(flag + "=" + value);
        }
    }

    private static String gib(Double value) {
        if (value == null) {
            return null;
        }
        return value == Math.rint(value) ? Long.toString(value.longValue()) : value.toString();
    }
}
