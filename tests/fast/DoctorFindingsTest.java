package fast;

import static org.assertj.core.api.Assertions.assertThat;

import buildkitmachine.Host;
import buildkitmachine.Log;
import buildkitmachine.machine.Doctor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** doctor's host checks with nothing installed, where no machine needs anything. */
class DoctorFindingsTest {
    @Test
    void withNoMachineAMissingToolIsAWarningWithHowToInstallIt(@TempDir Path home) {
        Host host = Host.of(Map.of("PATH", home.resolve("empty").toString(), "BUILDKIT_MACHINE_HOME",
                home.resolve("state").toString()), Log.silent());

        List<Doctor.Finding> findings = Doctor.examine(host, List.of());

        assertThat(findings).filteredOn(f -> f.check().equals("buildctl")).singleElement()
                .satisfies(f -> assertThat(f.status()).isEqualTo(Doctor.Status.WARN))
                .satisfies(f -> assertThat(f.fix()).contains("BuildKit"));
        assertThat(findings).filteredOn(f -> f.check().equals("state folder")).singleElement()
                .satisfies(f -> assertThat(f.detail()).contains("does not exist yet"));
        assertThat(findings).filteredOn(f -> f.check().equals("ssh")).singleElement()
                .satisfies(f -> assertThat(f.status()).as("Lima is the default, and it needs ssh")
                        .isEqualTo(Doctor.Status.FAIL));
    }
}
