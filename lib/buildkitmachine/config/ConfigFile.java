package buildkitmachine.config;

import buildkitmachine.MachineException;
import buildkitmachine.machine.AtomicFile;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A YAML configuration file: the user's defaults, or one machine's. Reading it checks every key and value and names
 * the file, line and column of the first problem; a file that does not exist is an empty one.
 */
public final class ConfigFile {
    /** The file name, in the state folder for defaults and in a machine's folder for that machine. */
    public static final String NAME = "config.yaml";
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();

    private final Path path;

    public ConfigFile(Path path) {
        this.path = path;
    }

    /** Where the file is, whether or not it exists. */
    public Path path() {
        return path;
    }

    /** A value as the file gives it, with where: {@code FILE:LINE:COLUMN}. */
    public record Located(JsonNode value, String where) {
    }

    /** Every setting the file gives, checked, in the file's order. */
    public Map<String, Located> read() {
        String text;
        try {
            text = Files.readString(path);
        } catch (NoSuchFileException e) {
            return Map.of();
        } catch (IOException e) {
            throw MachineException.usage("cannot read " + path + " (" + e.getMessage() + "); check its permissions");
        }
        Map<String, Located> settings = new LinkedHashMap<>();
        try (JsonParser parser = YAML.getFactory().createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null || first == JsonToken.VALUE_NULL) {
                return settings;
            }
            if (first != JsonToken.START_OBJECT) {
                throw problem(parser.currentTokenLocation(), "the file must hold settings such as 'vm:' and"
                        + " 'buildkitd:', not a " + first.asString());
            }
            readSection(parser, "", settings);
        } catch (JsonProcessingException e) {
            throw problem(e.getLocation(), "is not valid YAML: " + e.getOriginalMessage().lines().findFirst()
                    .orElse("syntax error"));
        } catch (IOException e) {
            throw MachineException.usage("cannot read " + path + ": " + e.getMessage());
        }
        return settings;
    }

    private void readSection(JsonParser parser, String prefix, Map<String, Located> settings) throws IOException {
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String key = prefix + parser.currentName();
            JsonLocation at = parser.currentTokenLocation();
            JsonToken token = parser.nextToken();
            var setting = Setting.named(key);
            if (setting.isPresent()) {
                JsonLocation valueAt = parser.currentTokenLocation();
                JsonNode value = YAML.readTree(parser);
                settings.put(key, new Located(check(setting.get(), value, valueAt), where(valueAt)));
            } else if (Setting.isSection(key) && token == JsonToken.START_OBJECT) {
                readSection(parser, key + ".", settings);
            } else if (Setting.isSection(key)) {
                throw problem(at, "'" + key + "' holds settings, e.g. " + key + ": {"
                        + firstIn(key).substring(key.length() + 1) + ": …}");
            } else {
                throw problem(at, "'" + key + "' is not a setting; 'buildkit-machine config' lists them all");
            }
        }
    }

    private static String firstIn(String section) {
        return Setting.ALL.stream().map(Setting::key).filter(k -> k.startsWith(section + ".")).findFirst()
                .orElse(section);
    }

    private JsonNode check(Setting setting, JsonNode value, JsonLocation at) {
        try {
            return setting.check(value);
        } catch (IllegalArgumentException e) {
            throw problem(at, e.getMessage());
        }
    }

    private MachineException problem(JsonLocation at, String message) {
        return MachineException.usage(where(at) + ": " + message);
    }

    private String where(JsonLocation at) {
        return at == null ? path.toString() : path + ":" + at.getLineNr() + ":" + at.getColumnNr();
    }

    /** Sets one setting, checked, keeping the others; the file is replaced whole, so comments in it go. */
    public void set(String key, JsonNode value) {
        Setting setting = Setting.named(key).orElseThrow(() -> unknown(key));
        try {
            setting.check(value);
        } catch (IllegalArgumentException e) {
            throw MachineException.usage(e.getMessage());
        }
        ObjectNode root = tree();
        ObjectNode section = root;
        String[] parts = key.split("\\.");
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = section.get(parts[i]);
            section = child instanceof ObjectNode object ? object : section.putObject(parts[i]);
        }
        section.set(parts[parts.length - 1], value);
        write(root);
    }

    /** Removes one setting, so that the next file down (or the default) applies again. */
    public boolean unset(String key) {
        Setting.named(key).orElseThrow(() -> unknown(key));
        ObjectNode root = tree();
        String[] parts = key.split("\\.");
        JsonNode section = root;
        for (int i = 0; i < parts.length - 1 && section != null; i++) {
            section = section.get(parts[i]);
        }
        if (!(section instanceof ObjectNode object) || object.remove(parts[parts.length - 1]) == null) {
            return false;
        }
        write(root);
        return true;
    }

    static MachineException unknown(String key) {
        return MachineException.usage("'" + key + "' is not a setting; 'buildkit-machine config' lists them all");
    }

    /** The file as a tree, checked first so that a broken file is never rewritten. */
    private ObjectNode tree() {
        read();
        try {
            JsonNode root = Files.exists(path) ? YAML.readTree(path.toFile()) : null;
            return root instanceof ObjectNode object ? object : YAML.createObjectNode();
        } catch (IOException e) {
            throw MachineException.usage("cannot read " + path + ": " + e.getMessage());
        }
    }

    private void write(ObjectNode root) {
        try {
            if (!Files.isDirectory(path.getParent())) {
                Files.createDirectories(path.getParent(), PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            }
            AtomicFile.write(path, YAML.writeValueAsBytes(root));
        } catch (IOException e) {
            throw MachineException.state("cannot write " + path + " (" + e.getMessage()
                    + "); check that the folder is writable and the disk is not full");
        }
    }

    /** Reads a value as it is typed on the command line: YAML, so 4, true, [a, b] and {k: [v]} all work. */
    public static JsonNode parseValue(String text) {
        try {
            JsonNode value = YAML.readTree(text);
            return value == null || value.isMissingNode() ? YAML.getNodeFactory().textNode("") : value;
        } catch (JsonProcessingException e) {
            throw MachineException.usage("'" + text + "' is not a value: " + e.getOriginalMessage().lines()
                    .findFirst().orElse("") + "; write e.g. 4, true, [arm64] or {docker.io: [mirror.gcr.io]}");
        }
    }
}
