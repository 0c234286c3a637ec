package buildkitmachine.machine;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads the toolkit's own state files, {@code machine.json} and the keeper's {@code forward.json}, with Jackson's
 * streaming parser instead of its object mapper. Nearly every command reads them, and short ones such as {@code env}
 * and {@code status} need nothing else of Jackson: making the mapper and its deserializers took longer than the rest
 * of such a command. The files are written by the mapper (the machine's record) and by {@link ForwardState#toJson}
 * (the keeper's state); tests read back what those write, field by field. Names the toolkit does not know are
 * skipped, as the mapper does.
 */
public final class RecordReader {
    private static final JsonFactory JSON = new JsonFactory();

    private RecordReader() {
    }

    /** A machine's record, as {@link MachineStore#write} wrote it. */
    public static MachineRecord machine(Path file) throws IOException {
        return read(file, fields -> new MachineRecord(text(fields, "name"), text(fields, "driver"),
                flag(fields, "createdInstance"),
                list(fields, "endpoints").stream().map(RecordReader::endpoint).toList(),
                text(fields, "guestSocket"), texts(fields, "ssh"), remote(fields.get("remote")),
                flag(fields, "startedDaemon"), texts(fields, "platforms"), texts(fields, "builders")));
    }

    /** The keeper's state, as {@link ForwardState#toJson} wrote it. */
    public static ForwardState forwardState(Path file) throws IOException {
        return read(file, fields -> new ForwardState(whole(fields, "pid"), text(fields, "state"),
                number(fields, "restarts"), text(fields, "lastError"), whole(fields, "since"),
                processId(fields.get("ssh"))));
    }

    /** The file's object, made into a value; a value of the wrong kind is an {@link IOException} like bad syntax. */
    private static <T> T read(Path file, Function<Map<?, ?>, T> make) throws IOException {
        Object value;
        try (JsonParser parser = JSON.createParser(file.toFile())) {
            value = value(parser, parser.nextToken());
        }
        try {
            return make.apply(object(value, "the file"));
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The value that starts at {@code token}: a map, list, string, number, boolean or null. */
    private static Object value(JsonParser parser, JsonToken token) throws IOException {
        if (token == null) {
            throw new IOException("the file ends early");
        }
        switch (token) {
            case START_OBJECT -> {
                Map<String, Object> fields = new LinkedHashMap<>();
                for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
                    fields.put(name, value(parser, parser.nextToken()));
                }
                return fields;
            }
            case START_ARRAY -> {
                List<Object> items = new ArrayList<>();
                for (JsonToken item = parser.nextToken(); item != JsonToken.END_ARRAY; item = parser.nextToken()) {
                    items.add(value(parser, item));
                }
                return items;
            }
            case VALUE_STRING -> {
                return parser.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return parser.getNumberValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return token == JsonToken.VALUE_TRUE;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IOException("unexpected " + token + " at " + parser.currentLocation());
        }
    }

    private static Endpoint endpoint(Object item) {
        Map<?, ?> fields = object(item, "an endpoint");
        String type = text(fields, "type");
        return switch (type == null ? "" : type) {
            case "unix" -> new Endpoint.Unix(path(text(fields, "path")));
            case "tcp" -> new Endpoint.Tcp(text(fields, "host"), number(fields, "port"), text(fields, "tls"));
            default -> throw new IllegalArgumentException("an endpoint of unknown type '" + type + "'");
        };
    }

    private static RemoteHost remote(Object item) {
        if (item == null) {
            return null;
        }
        Map<?, ?> fields = object(item, "remote");
        return new RemoteHost(text(fields, "user"), text(fields, "host"), number(fields, "port"),
                text(fields, "identity"), text(fields, "knownHosts"));
    }

    private static ProcessId processId(Object item) {
        if (item == null) {
            return null;
        }
        Map<?, ?> fields = object(item, "ssh");
        return new ProcessId(whole(fields, "pid"), whole(fields, "started"), whole(fields, "ticks"));
    }

    /** A path as the mapper writes one, a {@code file:} URI, or as a person might, a plain path. */
    private static Path path(String text) {
        if (text == null) {
            throw new IllegalArgumentException("an endpoint without a path");
        }
        return text.startsWith("file:") ? Path.of(URI.create(text)) : Path.of(text);
    }

    private static Map<?, ?> object(Object value, String what) {
        if (value instanceof Map<?, ?> fields) {
            return fields;
        }
        throw new IllegalArgumentException(what + " is not a JSON object");
    }

    private static String text(Map<?, ?> fields, String name) {
        Object value = fields.get(name);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw new IllegalArgumentException("'" + name + "' is not a string");
    }

    private static boolean flag(Map<?, ?> fields, String name) {
        Object value = fields.get(name);
        if (value == null || value instanceof Boolean) {
            return Boolean.TRUE.equals(value);
        }
        throw new IllegalArgumentException("'" + name + "' is not true or false");
    }

    private static int number(Map<?, ?> fields, String name) {
        Object value = fields.get(name);
        if (value == null || value instanceof Integer) {
            return value == null ? 0 : (Integer) value;
        }
        throw new IllegalArgumentException("'" + name + "' is not a whole number");
    }

    private static long whole(Map<?, ?> fields, String name) {
        Object value = fields.get(name);
        if (value == null || value instanceof Integer || value instanceof Long) {
            return value == null ? 0 : ((Number) value).longValue();
        }
        throw new IllegalArgumentException("'" + name + "' is not a whole number");
    }

    private static List<?> list(Map<?, ?> fields, String name) {
        Object value = fields.get(name);
        if (value == null || value instanceof List<?>) {
            return value == null ? List.of() : (List<?>) value;
        }
        throw new IllegalArgumentException("'" + name + "' is not a list");
    }

    private static List<String> texts(Map<?, ?> fields, String name) {
        List<?> items = list(fields, name);
        if (items.stream().allMatch(String.class::isInstance)) {
            return items.stream().map(String.class::cast).toList();
        }
        throw new IllegalArgumentException("'" + name + "' is not a list of strings");
    }
}
