package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.ExitCode;
import buildkitmachine.Host;
import buildkitmachine.MachineException;
import buildkitmachine.machine.Endpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EndpointTest {
    @Test
    void relativeUnixPathIsResolvedAgainstTheWorkingFolder() {
        Endpoint.Unix unix = Endpoint.parseUnix("./buildkitd.sock", Path.of("/home/me/project"));

        assertThat(unix.path()).isEqualTo(Path.of("/home/me/project/buildkitd.sock"));
        assertThat(unix.buildkitHost()).isEqualTo("unix:///home/me/project/buildkitd.sock");
        assertThat(unix.sshForward("/run/user/1000/buildkit-default/buildkitd.sock"))
                .isEqualTo("/home/me/project/buildkitd.sock:/run/user/1000/buildkit-default/buildkitd.sock");
    }

    @Test
    void unixPathAtTheKernelLimitIsTakenAndOneByteMoreIsRefused() {
        int limit = Host.maxSocketPathBytes();
        String atLimit = "/" + "a".repeat(limit - 1);

        assertThat(Endpoint.parseUnix(atLimit, Path.of("/")).path().toString()).hasSize(limit);
        assertThatThrownBy(() -> Endpoint.parseUnix(atLimit + "b", Path.of("/")))
                .isInstanceOf(MachineException.class)
                .hasMessageContaining("bytes long")
                .hasMessageContaining("choose a shorter path");
    }

    @Test
    void multibyteCharactersCountAsBytesNotCharacters() {
        int limit = Host.maxSocketPathBytes();
        String path = "/" + "é".repeat(limit / 2 + 1);
        assertThat(path.length()).isLessThan(limit);

        assertThatThrownBy(() -> Endpoint.parseUnix(path, Path.of("/"))).hasMessageContaining("bytes long");
    }

    @Test
    void tcpPortAloneBindsLoopback() {
        Endpoint.Tcp tcp = Endpoint.parseTcp("9999");

        assertThat(tcp).isEqualTo(new Endpoint.Tcp("127.0.0.1", 9999));
        assertThat(tcp.loopback()).isTrue();
        assertThat(tcp.buildkitHost()).isEqualTo("tcp://127.0.0.1:9999");
        assertThat(tcp.sshForward("/run/b.sock")).isEqualTo("127.0.0.1:9999:/run/b.sock");
    }

    @Test
    void aTcpPortIsRelayedFromASocketInTheMachinesFolderWhileItsPathFits() {
        Endpoint.Tcp tcp = Endpoint.parseTcp("9999");
        Path deep = Path.of("/" + "d".repeat(Host.maxSocketPathBytes()));

        assertThat(tcp.relaySocket(Path.of("/home/me/.buildkit-machine/bk")))
                .contains(Path.of("/home/me/.buildkit-machine/bk/tcp-9999.sock"));
        assertThat(tcp.relaySocket(deep)).as("too long for the kernel: ssh listens on the port").isEmpty();
        assertThat(tcp.withTls(Path.of("/m/tls")).relaySocket(deep)).contains(Path.of("/m/tls/proxy-9999.sock"));
    }

    @Test
    void ipv6HostIsBracketedWhereAddressesNeedIt() {
        Endpoint.Tcp tcp = Endpoint.parseTcp("[::1]:9999");

        assertThat(tcp.host()).isEqualTo("::1");
        assertThat(tcp.loopback()).isTrue();
        assertThat(tcp.buildkitHost()).isEqualTo("tcp://[::1]:9999");
        assertThat(tcp.sshForward("/s")).isEqualTo("[::1]:9999:/s");
    }

    @Test
    void anAddressOfTheNetworkIsNotLoopback() {
        assertThat(Endpoint.parseTcp("0.0.0.0:9999").loopback()).isFalse();
    }

    @ParameterizedTest(name = "--tcp {0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "80|privileged",
        "0|out of range",
        "70000|out of range",
        "abc|no port number",
        "9999x|no port number",
        ":9999|no valid host",
        "a b:9999|no valid host",
        "$(id):9999|no valid host",
    })
    void malformedTcpValuesAreRefusedWithTheReason(String value, String reason) {
        assertThatThrownBy(() -> Endpoint.parseTcp(value))
                .isInstanceOfSatisfying(MachineException.class,
                        e -> assertThat(e.exitCode()).isEqualTo(ExitCode.USAGE))
                .hasMessageContaining(reason);
    }

    @ParameterizedTest(name = "--unix {0}")
    @CsvSource(delimiter = '|', value = {"/tmp/a:b.sock", "''"})
    void unixPathsSshCannotCarryAreRefused(String value) {
        assertThatThrownBy(() -> Endpoint.parseUnix(value, Path.of("/")))
                .isInstanceOfSatisfying(MachineException.class,
                        e -> assertThat(e.exitCode()).isEqualTo(ExitCode.USAGE));
    }
}
