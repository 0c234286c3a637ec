package buildkitmachine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One setting of the configuration file: its dotted key, the kind of value it takes, and what it is for. Checking a
 * value says what is wrong in words a user can act on; the caller adds the file, line and column.
 */
public record Setting(String key, Kind kind, String description, JsonNode defaultValue) {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern REGISTRY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\\d{1,5})?");
    private static final Pattern SIZE = Pattern.compile("\\d+(\\.\\d+)?\\s*([kKmMgGtT]i?[bB]?|[bB])?|\\d{1,2}%");
    private static final List<String> ARCHES = List.of("x86_64", "aarch64", "armv7l", "riscv64", "ppc64le", "s390x");
    private static final List<String> VM_TYPES = List.of("qemu", "vz", "krunkit", "wsl2");
    private static final List<String> EMULATED = List.of("amd64", "arm64", "arm", "riscv64", "ppc64le", "s390x",
            "386", "mips64le", "mips64", "loong64");

    /** The kinds of value, each with its rule. */
    public enum Kind { COUNT, GIB, FLAG, ARCH, VM_TYPE, SIZE, REGISTRIES, MIRRORS, PLATFORMS }

    /** Every setting there is, in the order {@code config} shows them. */
    public static final List<Setting> ALL = List.of(
            new Setting("vm.cpus", Kind.COUNT, "CPUs of a new Lima VM", null),
            new Setting("vm.memory", Kind.GIB, "memory of a new Lima VM, in GiB", null),
            new Setting("vm.disk", Kind.GIB, "disk of a new Lima VM, in GiB", null),
            new Setting("vm.arch", Kind.ARCH, "architecture of a new Lima VM", null),
            new Setting("vm.vmType", Kind.VM_TYPE, "VM type of a new Lima VM", null),
            new Setting("vm.rosetta", Kind.FLAG, "run amd64 code with Rosetta in a new vz VM on Apple silicon",
                    NODES.booleanNode(false)),
            new Setting("emulation", Kind.PLATFORMS, "other architectures to build by emulation (binfmt), e.g."
                    + " [arm64]", NODES.arrayNode()),
            new Setting("buildkitd.debug", Kind.FLAG, "debug logging of buildkitd", NODES.booleanNode(false)),
            new Setting("buildkitd.maxParallelism", Kind.COUNT, "build steps run at once (buildkitd's default: all"
                    + " CPUs)", null),
            new Setting("buildkitd.gc.enabled", Kind.FLAG, "collect old build cache automatically",
                    NODES.booleanNode(true)),
            new Setting("buildkitd.gc.keepStorage", Kind.SIZE, "build cache to keep, e.g. 20GB or 10%"
                    + " (buildkitd's default otherwise)", null),
            new Setting("buildkitd.mirrors", Kind.MIRRORS, "mirrors per registry, e.g. {docker.io: [mirror.gcr.io]}",
                    NODES.objectNode()),
            new Setting("buildkitd.insecureRegistries", Kind.REGISTRIES, "registries reached over plain HTTP or"
                    + " TLS without verification, e.g. [registry.lan:5000]", NODES.arrayNode()));

    /** The setting of that key. */
    public static Optional<Setting> named(String key) {
        return ALL.stream().filter(s -> s.key.equals(key)).findFirst();
    }

    /** Whether {@code prefix} is a section that holds settings, such as {@code buildkitd} or {@code buildkitd.gc}. */
    public static boolean isSection(String prefix) {
        return ALL.stream().anyMatch(s -> s.key.startsWith(prefix + "."));
    }

    /** The value, checked; the message of the exception says what is wrong and gives an example. */
    public JsonNode check(JsonNode value) {
        String problem = problem(value);
        if (problem != null) {
            throw new IllegalArgumentException(key + " " + problem);
        }
        return value;
    }

    private String problem(JsonNode value) {
        return switch (kind) {
            case COUNT -> value.canConvertToExactIntegral() && value.asLong() > 0 && value.asLong() < 100_000
                    ? null : "must be a whole number above 0, e.g. 4";
            case GIB -> value.isNumber() && value.asDouble() > 0 ? null : "must be a number of GiB above 0, e.g. 8";
            case FLAG -> value.isBoolean() ? null : "must be true or false";
            case ARCH -> oneOf(value, ARCHES);
            case VM_TYPE -> oneOf(value, VM_TYPES);
            case SIZE -> value.isTextual() && SIZE.matcher(value.asText()).matches() || value.isIntegralNumber()
                    ? null : "must be a size such as 20GB, 512MB or 10%";
            case REGISTRIES -> everyItem(value, REGISTRY, "a registry host[:port], e.g. [registry.lan:5000]");
            case MIRRORS -> mirrorsProblem(value);
            case PLATFORMS -> value.isArray() && allMatch(value, EMULATED) ? null
                    : "must be a list of architectures from " + String.join(", ", EMULATED) + ", e.g. [arm64]";
        };
    }

    private static String oneOf(JsonNode value, List<String> allowed) {
        return value.isTextual() && allowed.contains(value.asText()) ? null
                : "must be one of " + String.join(", ", allowed);
    }

    private static boolean allMatch(JsonNode list, List<String> allowed) {
        for (JsonNode item : list) {
            if (!item.isTextual() || !allowed.contains(item.asText())) {
                return false;
            }
        }
        return true;
    }

    private static String everyItem(JsonNode value, Pattern rule, String example) {
        if (!value.isArray()) {
            return "must be a list of " + example;
        }
        for (JsonNode item : value) {
            if (!item.isTextual() || !rule.matcher(item.asText()).matches()) {
                return "has '" + item.asText() + "', which is not " + example;
            }
        }
        return null;
    }

    private static String mirrorsProblem(JsonNode value) {
        String example = "{docker.io: [mirror.gcr.io]}";
        if (!value.isObject()) {
            return "must map registries to lists of mirrors, e.g. " + example;
        }
        var fields = value.fields();
        while (fields.hasNext()) {
            var field = fields.next();
            if (!REGISTRY.matcher(field.getKey()).matches()) {
                return "has '" + field.getKey() + "', which is not a registry host[:port], e.g. " + example;
            }
            String problem = everyItem(field.getValue(), REGISTRY, "a mirror host[:port], e.g. " + example);
            if (problem != null) {
                return "for " + field.getKey() + " " + problem;
            }
        }
        return null;
    }
}
