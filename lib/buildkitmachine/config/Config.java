package buildkitmachine.config;

import buildkitmachine.Host;
import buildkitmachine.lima.LimaResources;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings that apply to one machine, each with where it came from: the machine's own file over the user's
 * defaults over the built-in defaults. Command-line flags of {@code start} override these in turn.
 */
public final class Config {
    /** Where a setting's value came from when no file gives it. */
    public static final String BUILT_IN = "default";

    private final Map<String, Value> values;
    private final List<Path> files;

    private Config(Map<String, Value> values, List<Path> files) {
        this.values = values;
        this.files = files;
    }

    /** A setting's value and its origin: a file with line and column, or {@value #BUILT_IN}. */
    public record Value(JsonNode value, String origin) {
        /** Whether any value is set; settings without a default are unset until a file sets them. */
        public boolean isSet() {
            return value != null;
        }
    }

    /** The user's defaults file. */
    public static ConfigFile defaults(Host host) {
        return new ConfigFile(host.stateHome().resolve(ConfigFile.NAME));
    }

    /** One machine's file. */
    public static ConfigFile ofMachine(Host host, String machine) {
        return new ConfigFile(host.stateHome().resolve(machine).resolve(ConfigFile.NAME));
    }

    /** Reads and checks both files; a problem names its file, line and column. */
    public static Config load(Host host, String machine) {
        Map<String, Value> values = new LinkedHashMap<>();
        Setting.ALL.forEach(s -> values.put(s.key(), new Value(s.defaultValue(), BUILT_IN)));
        List<Path> files = new ArrayList<>();
        for (ConfigFile file : List.of(defaults(host), ofMachine(host, machine))) {
            files.add(file.path());
            file.read().forEach((key, located) -> values.put(key, new Value(located.value(), located.where())));
        }
        return new Config(values, files);
    }

    /** Every setting in the order {@link Setting#ALL} lists them. */
    public Map<String, Value> values() {
        return Map.copyOf(values);
    }

    /** The value of one setting. */
    public Value get(String key) {
        Value value = values.get(key);
        if (value == null) {
            throw ConfigFile.unknown(key);
        }
        return value;
    }

    /** The files read, lowest priority first. */
    public List<Path> files() {
        return files;
    }

    /** The size and kind of a new Lima VM, as the files give them. */
    public LimaResources vm() {
        return new LimaResources(
                number(get("vm.cpus")) == null ? null : number(get("vm.cpus")).intValue(),
                number(get("vm.memory")), number(get("vm.disk")), text(get("vm.arch")), text(get("vm.vmType")),
                get("vm.rosetta").value().asBoolean() ? Boolean.TRUE : null);
    }

    /** The architectures to emulate, e.g. arm64. */
    public List<String> emulation() {
        return strings(get("emulation").value());
    }

    /** buildkitd's own settings. */
    public BuildkitdConfig buildkitd() {
        Map<String, List<String>> mirrors = new LinkedHashMap<>();
        get("buildkitd.mirrors").value().fields().forEachRemaining(f -> mirrors.put(f.getKey(), strings(f.getValue())));
        Value parallelism = get("buildkitd.maxParallelism");
        Value keep = get("buildkitd.gc.keepStorage");
        return new BuildkitdConfig(get("buildkitd.debug").value().asBoolean(),
                parallelism.isSet() ? parallelism.value().asInt() : null,
                get("buildkitd.gc.enabled").value().asBoolean(),
                keep.isSet() ? keep.value().asText() : null,
                mirrors, strings(get("buildkitd.insecureRegistries").value()));
    }

    private static Double number(Value value) {
        return value.isSet() ? value.value().asDouble() : null;
    }

    private static String text(Value value) {
        return value.isSet() ? value.value().asText() : null;
    }

    private static List<String> strings(JsonNode list) {
        List<String> items = new ArrayList<>();
        list.forEach(item -> items.add(item.asText()));
        return items;
    }
}
