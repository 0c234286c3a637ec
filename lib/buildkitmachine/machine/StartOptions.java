package buildkitmachine.machine;

import buildkitmachine.lima.LimaResources;
import buildkitmachine.lima.Template;
import java.time.Duration;
import java.util.List;

/**
 * What {@code start} is asked for.
 *
 * @param endpoints where to offer buildkitd; empty means the ones remembered, else a socket in the machine's folder
 * @param resources the VM's size and kind, used only when a Lima instance is created
 * @param template the Lima template to create the instance from; null for the bundled one
 * @param timeout how long the whole start may take, readiness included
 * @param driver {@code lima}, {@code local} or {@code ssh}; null for the remembered one, else the default
 * @param remote the build host, for the ssh driver
 * @param startDaemon whether the ssh driver may start a rootless buildkitd when none answers
 * @param tls whether the TCP endpoint takes mutual TLS only, with certificates the toolkit makes
 */
public record StartOptions(List<Endpoint> endpoints, LimaResources resources, Template template, Duration timeout,
        String driver, RemoteHost remote, boolean startDaemon, boolean tls) {
    public StartOptions {
        endpoints = List.copyOf(endpoints);
    }

    /** Lima's defaults, the bundled template, ten minutes, the default driver and endpoint. */
    public static StartOptions defaults() {
        return new StartOptions(List.of(), LimaResources.defaults(), null, Duration.ofMinutes(10), null, null,
                false, false);
    }

    /** The same options with these endpoints. */
    public StartOptions at(List<Endpoint> others) {
        return new StartOptions(others, resources, template, timeout, driver, remote, startDaemon, tls);
    }

    /** The same options with this driver. */
    public StartOptions withDriver(String name) {
        return new StartOptions(endpoints, resources, template, timeout, name, remote, startDaemon, tls);
    }

    /** The same options for a build host reached over SSH. */
    public StartOptions onHost(RemoteHost host, boolean mayStartDaemon) {
        return new StartOptions(endpoints, resources, template, timeout, Driver.SSH, host, mayStartDaemon, tls);
    }

    /** The same options, with mutual TLS on the TCP endpoint or without. */
    public StartOptions withTls(boolean on) {
        return new StartOptions(endpoints, resources, template, timeout, driver, remote, startDaemon, on);
    }
}
