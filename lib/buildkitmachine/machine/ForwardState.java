package buildkitmachine.machine;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * How a machine's forward is doing, as its keeper last wrote it to {@code forward.json}.
 *
 * @param pid the keeper's process
 * @param state {@code up} while ssh carries the endpoints, {@code restarting} after it ended, {@code closed} at the end
 * @param restarts how many times ssh was started again since the keeper began
 * @param lastError why ssh last ended, if it did
 * @param since when the state began, in milliseconds since the epoch
 * @param ssh the ssh process that carries the forward, so that one left behind by a killed keeper can be ended
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ForwardState(long pid, String state, int restarts, String lastError, long since, ProcessId ssh) {
}
