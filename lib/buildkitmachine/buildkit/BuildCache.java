package buildkitmachine.buildkit;

import buildkitmachine.MachineException;
import buildkitmachine.exec.Program;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** buildkitd's build cache, through buildctl: how big it is, and shrinking it. */
public final class BuildCache {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofMinutes(30);
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)i?b?");

    private final Buildctl buildctl;

    public BuildCache(Buildctl buildctl) {
        this.buildctl = buildctl;
    }

    /** What the cache holds: its records, their total size, and how much of it nothing uses now. */
    public record Usage(int records, long bytes, long reclaimableBytes) {
    }

    /** The cache's size, from {@code buildctl du}. */
    public Usage usage() {
        String output = buildctl.run(List.of("du", "--format", "{{json .}}"), TIMEOUT).orFail().stdout();
        List<JsonNode> records = new ArrayList<>();
        parse(output.strip()).forEach(records::add);
        return summarize(records);
    }

    /**
     * Removes cache records, keeping at most {@code keepBytes} (all unused ones when null); {@code all} includes
     * records that buildkitd keeps for itself, such as frontends. Returns what was removed.
     */
    public Usage prune(Long keepBytes, boolean all) {
        List<String> args = new ArrayList<>(List.of("prune", "--format", "{{json .}}"));
        if (keepBytes != null) {
            // buildctl takes decimal megabytes.
            args.addAll(List.of("--keep-storage", String.format(Locale.ROOT, "%.6f", keepBytes / 1e6)));
        }
        if (all) {
            args.add("--all");
        }
        String output = buildctl.run(args, TIMEOUT).orFail().stdout();
        List<JsonNode> records = new ArrayList<>();
        output.lines().filter(l -> !l.isBlank()).forEach(l -> records.add(parse(l)));
        return summarize(records);
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json.isEmpty() ? "[]" : json);
        } catch (IOException e) {
            throw MachineException.toolFailed("buildctl printed something that is not JSON: "
                    + Program.tail(json, 2));
        }
    }

    private static Usage summarize(List<JsonNode> records) {
        List<JsonNode> flat = new ArrayList<>();
        records.forEach(r -> {
            if (r.isArray()) {
                r.forEach(flat::add);
            } else if (!r.isNull()) {
                flat.add(r);
            }
        });
        // buildctl's JSON names the fields size and inUse (its UsageInfo's JSON tags).
        long total = flat.stream().mapToLong(r -> r.path("size").asLong()).sum();
        long free = flat.stream().filter(r -> !r.path("inUse").asBoolean()).mapToLong(r -> r.path("size").asLong())
                .sum();
        return new Usage(flat.size(), total, free);
    }

    /** Reads sizes as people write them: 512MB, 10GB, 1.5g, 2048 (bytes); units are binary, as buildkitd's. */
    public static long parseSize(String text) {
        Matcher matcher = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw MachineException.usage("'" + text + "' is not a size; write e.g. 512MB or 10GB");
        }
        double number = Double.parseDouble(matcher.group(1));
        int power = matcher.group(2).isEmpty() ? 0 : "kmgt".indexOf(matcher.group(2)) + 1;
        return (long) (number * Math.pow(1024, power));
    }

    /** A size for people, e.g. 1.2 GB (binary units, as buildctl shows them). */
    public static String human(long bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
