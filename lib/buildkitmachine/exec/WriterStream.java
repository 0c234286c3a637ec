package buildkitmachine.exec;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * Passes a child's output to a command's writer, so that tests capture it like any other output. Bytes are handed
 * on at each line end and at each flush of a chunk that ends on a whole character, so multi-byte characters are never
 * split and progress without line ends still shows.
 */
public final class WriterStream extends OutputStream {
    private final PrintWriter writer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public WriterStream(PrintWriter writer) {
        this.writer = writer;
    }

    @Override
    public synchronized void write(int b) {
        pending.write(b);
        if (b == '\n') {
            flush();
        }
    }

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
        pending.write(bytes, offset, length);
        if (endsOnWholeCharacter()) {
            flush();
        }
    }

    @Override
    public synchronized void flush() {
        writer.print(pending.toString(StandardCharsets.UTF_8));
        writer.flush();
        pending.reset();
    }

    @Override
    public void close() {
        flush();
    }

    /** Whether the last byte ends a UTF-8 character, so the bytes so far decode without a broken tail. */
    private boolean endsOnWholeCharacter() {
        byte[] bytes = pending.toByteArray();
        int i = bytes.length - 1;
        int continuation = 0;
        while (i >= 0 && (bytes[i] & 0xC0) == 0x80) {
            continuation++;
            i--;
        }
        if (i < 0) {
            return false;
        }
        int lead = bytes[i] & 0xFF;
        int length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return continuation + 1 >= length;
    }
}
