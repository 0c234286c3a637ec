package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.MachineException;
import buildkitmachine.machine.Endpoint;
import buildkitmachine.machine.MachineRecord;
import buildkitmachine.machine.MachineStore;
import buildkitmachine.machine.RemoteHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jackson's mapper writes machine.json and its streaming parser reads it: every field must come back as it was. */
class MachineRecordFileTest {
    @TempDir
    Path home;

    @Test
    void everyFieldComesBackAsWritten() {
        MachineStore store = new MachineStore(home);
        Path odd = home.resolve("a dir with spaces, 'quotes', \"double\", %41, #hash, ünïcode").resolve("b.sock");
        MachineRecord record = new MachineRecord("vm", "lima", true,
                List.of(new Endpoint.Unix(odd), new Endpoint.Tcp("127.0.0.1", 9999),
                        new Endpoint.Tcp("::", 65535, home.resolve("tls dir").toString())),
                "/run/user/501/buildkit/buildkitd.sock", List.of("-F", "/x/ssh.config", "lima-vm"),
                new RemoteHost("builder", "build-1.example.com", 2222, "/home/me/.ssh/id", "/home/me/known hosts"),
                false, List.of("linux/arm64", "linux/amd64"), List.of("bkm"));

        store.write(record);

        assertThat(store.read("vm")).contains(record);
    }

    @Test
    void aFreshRecordWithItsAbsentValuesComesBackAsWritten() {
        MachineStore store = new MachineStore(home);
        MachineRecord record = MachineRecord.fresh("plain", "local")
                .onRemote(new RemoteHost(null, "10.0.0.2", 0, null, null), true);

        store.write(record);
        store.write(MachineRecord.fresh("bare", "ssh"));

        assertThat(store.read("plain")).contains(record);
        assertThat(store.read("bare")).contains(MachineRecord.fresh("bare", "ssh"));
    }

    @Test
    void namesItDoesNotKnowAreSkippedAndAPlainPathIsRead() throws IOException {
        Files.createDirectories(home.resolve("old"));
        Files.writeString(home.resolve("old/machine.json"), """
                {"name": "old", "driver": "local", "later": {"nested": [1, 2.5, null, {"x": false}]},
                 "endpoints": [{"type": "unix", "path": "/tmp/old.sock", "extra": "yes"}], "ssh": null}
                """);

        MachineRecord record = new MachineStore(home).read("old").orElseThrow();

        assertThat(record.endpoints()).containsExactly(new Endpoint.Unix(Path.of("/tmp/old.sock")));
        assertThat(record.ssh()).isEmpty();
        assertThat(record.createdInstance()).isFalse();
    }

    @Test
    void aDamagedRecordSaysWhichFileAndHowToRecover() throws IOException {
        Files.createDirectories(home.resolve("bad"));
        MachineStore store = new MachineStore(home);
        for (String text : List.of("{\"name\": \"bad\", \"driver\": ", "[1, 2]", "{\"name\": 7}",
                "{\"endpoints\": [{\"type\": \"carrier-pigeon\"}]}",
                "{\"endpoints\": [{\"type\": \"tcp\", \"port\": \"x\"}]}", "{\"remote\": {\"port\": 1e99}}",
                "not json at all")) {
            Files.writeString(home.resolve("bad/machine.json"), text);

            assertThatThrownBy(() -> store.read("bad")).as(text)
                    .isInstanceOf(MachineException.class)
                    .hasMessageContaining(home.resolve("bad/machine.json") + " is damaged")
                    .hasMessageContaining("buildkit-machine start bad");
        }
    }
}
