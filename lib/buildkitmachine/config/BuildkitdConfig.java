package buildkitmachine.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings that reach buildkitd through its own {@code buildkitd.toml}. The same settings go to both workers'
 * sections, since which worker runs depends on where the daemon runs (containerd's in a Lima VM, OCI elsewhere).
 *
 * @param keepStorage the most build cache to keep, in buildkitd's notation (20GB, 10%); null for its default
 * @param maxParallelism build steps at once; null for all CPUs
 */
public record BuildkitdConfig(boolean debug, Integer maxParallelism, boolean gc, String keepStorage,
        Map<String, List<String>> mirrors, List<String> insecureRegistries) {
    /** The first line of every file the toolkit writes, by which it knows its own. */
    public static final String HEADER = "# Written by buildkit-machine from its configuration";
    private static final TomlMapper TOML = new TomlMapper();

    public BuildkitdConfig {
        mirrors = Map.copyOf(mirrors);
        insecureRegistries = List.copyOf(insecureRegistries);
    }

    /** buildkitd's own defaults: nothing to write. */
    public boolean isDefault() {
        return !debug && maxParallelism == null && gc && keepStorage == null && mirrors.isEmpty()
                && insecureRegistries.isEmpty();
    }

    /** Which worker the daemon uses: Lima's service runs the containerd worker, the toolkit's own daemons OCI. */
    public enum Worker { CONTAINERD, OCI }

    /** The file's text; the same settings always give the same text, so a change is seen by comparing. */
    public String toml(Worker worker) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("debug", debug);
        Map<String, Object> workers = new LinkedHashMap<>();
        workers.put("oci", workerSection(worker == Worker.OCI ? null : false, false));
        workers.put("containerd", workerSection(worker == Worker.CONTAINERD ? true : null,
                worker == Worker.CONTAINERD));
        root.put("worker", workers);
        Map<String, Object> registries = new java.util.TreeMap<>();
        mirrors.forEach((registry, list) -> registry(registries, registry).put("mirrors", list));
        insecureRegistries.forEach(r -> {
            registry(registries, r).put("http", true);
            registry(registries, r).put("insecure", true);
        });
        if (!registries.isEmpty()) {
            root.put("registry", registries);
        }
        try {
            return HEADER + "; change it with 'buildkit-machine config'.\n"
                    + TOML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write buildkitd.toml: " + e.getMessage(), e);
        }
    }

    /** A worker's settings; Lima's service needs the containerd worker on and rootless, the OCI one off. */
    private Map<String, Object> workerSection(Boolean enabled, boolean rootless) {
        Map<String, Object> section = new LinkedHashMap<>();
        if (enabled != null) {
            section.put("enabled", enabled);
        }
        if (rootless) {
            section.put("rootless", true);
        }
        if (maxParallelism != null) {
            section.put("max-parallelism", maxParallelism);
        }
        section.put("gc", gc);
        if (keepStorage != null) {
            section.put("maxUsedSpace", keepStorage);
        }
        return section;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> registry(Map<String, Object> registries, String name) {
        return (Map<String, Object>) registries.computeIfAbsent(name, n -> new LinkedHashMap<String, Object>());
    }
}
