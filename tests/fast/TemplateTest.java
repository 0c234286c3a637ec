package fast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import buildkitmachine.ExitCode;
import buildkitmachine.MachineException;
import buildkitmachine.lima.LimaVersion;
import buildkitmachine.lima.Template;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TemplateTest {
    @Test
    void theBundledTemplateNeedsLimaTwoAndSharesNoHostFolder() {
        Template template = Template.bundled();

        assertThat(template.minimumLimaVersion()).contains(new LimaVersion(2, 0, 0));
        assertThat(template.mountsHostFolders()).isFalse();
        assertThat(template.text()).contains("user: true").contains("mounts: []");
    }

    @Test
    void brokenYamlIsReportedWithFileLineAndColumn() {
        byte[] broken = "minimumLimaVersion: 2.0.0\ncontainerd:\n  user: [true\n".getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> Template.parse("my.yaml", broken))
                .isInstanceOfSatisfying(MachineException.class,
                        e -> assertThat(e.exitCode()).isEqualTo(ExitCode.USAGE))
                .hasMessageMatching("my\\.yaml:\\d+:\\d+: not valid YAML: .*");
    }

    @Test
    void aTemplateThatIsNotAMappingIsRefused() {
        assertThatThrownBy(() -> Template.parse("list.yaml", "- a\n- b\n".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("must be a YAML mapping");
    }

    @Test
    void aMinimumVersionThatIsNoVersionIsRefused() {
        byte[] bad = "minimumLimaVersion: soon\n".getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> Template.parse("t.yaml", bad).minimumLimaVersion())
                .hasMessageContaining("'soon' is not a version");
    }
}
