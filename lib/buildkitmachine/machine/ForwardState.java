package buildkitmachine.machine;

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
public record ForwardState(long pid, String state, int restarts, String lastError, long since, ProcessId ssh) {
    /**
     * The JSON that {@link RecordReader#forwardState} reads back into this record, written by hand: the keeper
     * writes it, and it never loads Jackson (see {@link ForwardProcess#arguments}).
     */
    public String toJson() {
        return "{\n  \"pid\" : " + pid + ",\n  \"state\" : " + quoted(state) + ",\n  \"restarts\" : " + restarts
                + ",\n  \"lastError\" : " + quoted(lastError) + ",\n  \"since\" : " + since + ",\n  \"ssh\" : "
                + (ssh == null ? "null" : "{\n    \"pid\" : " + ssh.pid() + ",\n    \"started\" : " + ssh.started()
                        + ",\n    \"ticks\" : " + ssh.ticks() + "\n  }") + "\n}";
    }

    private static String quoted(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
