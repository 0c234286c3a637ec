package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.ExitCode;
import buildkitmachine.MachineException;
import buildkitmachine.lima.LimaInstance;
import buildkitmachine.lima.LimaVersion;
import buildkitmachine.lima.Limactl;
import java.util.List;
import org.junit.jupiter.api.Test;

class LimaContractParsingTest {
    private static final String TWO_INSTANCES = """
            {"name":"buildkit","hostname":"lima-buildkit","status":"Running","dir":"/h/.lima/buildkit",\
            "vmType":"vz","arch":"aarch64","cpus":4,"memory":4294967296,"disk":107374182400,\
            "sshLocalPort":53211,"sshConfigFile":"/h/.lima/buildkit/ssh.config","hostAgentPID":10,"driverPID":11,\
            "protected":false,"limaVersion":"2.0.3","aFieldFromTheFuture":{"x":1}}
            {"name":"default","hostname":"lima-default","status":"Stopped","dir":"/h/.lima/default",\
            "protected":false,"limaVersion":"2.0.3"}
            """;

    @Test
    void listReadsOneObjectPerLineAndIgnoresUnknownKeys() {
        List<LimaInstance> instances = Limactl.parseList(TWO_INSTANCES);

        assertThat(instances).extracting(LimaInstance::name).containsExactly("buildkit", "default");
        LimaInstance first = instances.get(0);
        assertThat(first.running()).isTrue();
        assertThat(first.cpus()).isEqualTo(4);
        assertThat(first.memory()).isEqualTo(4294967296L);
        assertThat(first.sshConfig().toString()).isEqualTo("/h/.lima/buildkit/ssh.config");
        assertThat(instances.get(1).stopped()).isTrue();
        assertThat(instances.get(1).sshConfig().toString()).isEqualTo("/h/.lima/default/ssh.config");
    }

    @Test
    void emptyOutputMeansNoInstances() {
        assertThat(Limactl.parseList("")).isEmpty();
        assertThat(Limactl.parseList("\n\n")).isEmpty();
    }

    @Test
    void aJsonArrayBreaksTheContractAndSaysSo() {
        assertThatThrownBy(() -> Limactl.parseList("[{\"name\":\"a\"}]"))
                .isInstanceOfSatisfying(MachineException.class,
                        e -> assertThat(e.exitCode()).isEqualTo(ExitCode.TOOL_FAILED))
                .hasMessageContaining("not a JSON object")
                .hasMessageContaining("limactl --version");
    }

    @Test
    void aTableInsteadOfJsonBreaksTheContract() {
        assertThatThrownBy(() -> Limactl.parseList("NAME STATUS\nbuildkit Running"))
                .hasMessageContaining("not a JSON object");
    }

    @Test
    void truncatedJsonBreaksTheContract() {
        assertThatThrownBy(() -> Limactl.parseList("{\"name\":\"buildkit\",\"status\""))
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void anInstanceWithoutNameBreaksTheContract() {
        assertThatThrownBy(() -> Limactl.parseList("{\"status\":\"Running\"}"))
                .hasMessageContaining("without a name");
    }

    @Test
    void versionsCompareByNumberNotByText() {
        assertThat(LimaVersion.parse("limactl version 2.0.3")).isEqualTo(new LimaVersion(2, 0, 3));
        assertThat(LimaVersion.parse("limactl version 1.10.0-rc.1"))
                .isGreaterThan(LimaVersion.parse("1.9.9"));
        assertThat(LimaVersion.parse("2.0")).isEqualByComparingTo(new LimaVersion(2, 0, 0));
        assertThat(LimaVersion.parse("0.23.2")).isLessThan(LimaVersion.parse("2.0.0"));
    }
}
