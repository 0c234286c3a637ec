package buildkitmachine.machine;

import buildkitmachine.lima.LimaResources;
import buildkitmachine.lima.Template;
import java.time.Duration;
import java.util.List;

/**
 * What {@code start} is asked for.
 *
 * @param endpoints where to offer buildkitd; empty means the ones remembered, else a socket in the machine's folder
 * @param resources the VM's size and kind, used only when the instance is created
 * @param template the Lima template to create the instance from
 * @param timeout how long the whole start may take, readiness included
 */
public record StartOptions(List<Endpoint> endpoints, LimaResources resources, Template template, Duration timeout) {
    public StartOptions {
        endpoints = List.copyOf(endpoints);
    }

    /** Lima's defaults, the bundled template, ten minutes, and the default endpoint. */
    public static StartOptions defaults() {
        return new StartOptions(List.of(), LimaResources.defaults(), null, Duration.ofMinutes(10));
    }

    /** The same options with these endpoints. */
    public StartOptions at(List<Endpoint> others) {
        return new StartOptions(others, resources, template, timeout);
    }
}
