package buildkitmachine.buildkit;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** A BuildKit worker as ListWorkers reports it: ID, platforms as os/arch[/variant], labels sorted by key. */
public record Worker(String id, List<String> platforms, Map<String, String> labels) {

    /** Copies the collections so that a Worker is immutable and its labels print in a stable order. */
    public Worker {
        Objects.requireNonNull(id, "id");
        platforms = List.copyOf(platforms);
        labels = Collections.unmodifiableMap(new TreeMap<>(labels));
    }
}
