package buildkitmachine.lima;

import buildkitmachine.MachineException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A Lima template that instances are created from. It is read before use, so that a broken file is reported with its
 * line and column instead of as a limactl failure halfway through creating a VM.
 */
public final class Template {
    /** The template shipped with the toolkit, as a classpath resource. */
    public static final String BUNDLED = "templates/buildkit.yaml";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final String source;
    private final byte[] content;
    private final JsonNode tree;

    private Template(String source, byte[] content, JsonNode tree) {
        this.source = source;
        this.content = content;
        this.tree = tree;
    }

    /** The template that ships with the toolkit. */
    public static Template bundled() {
        try (InputStream in = Template.class.getClassLoader().getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw MachineException.internal(BUNDLED + " is missing from the classpath; reinstall the tool", null);
            }
            return parse(BUNDLED, in.readAllBytes());
        } catch (IOException e) {
            throw MachineException.internal("cannot read " + BUNDLED + ": " + e.getMessage(), e);
        }
    }

    /** A template file of the user's. */
    public static Template read(Path file) {
        try {
            return parse(file.toString(), Files.readAllBytes(file));
        } catch (IOException e) {
            throw MachineException.usage("cannot read template " + file + ": " + e.getMessage());
        }
    }

    /** Checks that the bytes are a YAML mapping; the error names the source, line and column. */
    public static Template parse(String source, byte[] content) {
        try {
            JsonNode tree = YAML.readTree(content);
            if (tree == null || !tree.isObject()) {
                throw MachineException.usage(source + ": a Lima template must be a YAML mapping of keys to values");
            }
            return new Template(source, content, tree);
        } catch (JsonProcessingException e) {
            throw MachineException.usage(source + ":" + where(e.getLocation()) + ": not valid YAML: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw MachineException.usage("cannot read template " + source + ": " + e.getMessage());
        }
    }

    private static String where(JsonLocation location) {
        return location == null ? "?:?" : location.getLineNr() + ":" + location.getColumnNr();
    }

    /** Where the template came from, for messages. */
    public String source() {
        return source;
    }

    /** The template as limactl reads it. */
    public byte[] content() {
        return content.clone();
    }

    /** The template as text. */
    public String text() {
        return new String(content, StandardCharsets.UTF_8);
    }

    /** The oldest Lima the template works with, from its {@code minimumLimaVersion} key. */
    public Optional<LimaVersion> minimumLimaVersion() {
        JsonNode value = tree.get("minimumLimaVersion");
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        try {
            return Optional.of(LimaVersion.parse(value.asText()));
        } catch (IllegalArgumentException e) {
            throw MachineException.usage(source + ": minimumLimaVersion '" + value.asText() + "' is not a version");
        }
    }

    /** Whether the template shares any host folder with the VM. */
    public boolean mountsHostFolders() {
        JsonNode mounts = tree.get("mounts");
        return mounts != null && mounts.isArray() && !mounts.isEmpty();
    }
}
