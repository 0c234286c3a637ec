///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES ../buildkit-machine.java
//MAIN RunTests
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.junit.platform:junit-platform-launcher:1.14.1
//DEPS org.assertj:assertj-core:3.27.7
//SOURCES support/*.java
//SOURCES fast/*.java
//SOURCES integration/*.java
//SOURCES e2e/*.java

// The test suite in three tiers, one package each: fast (no external programs), integration (a real sshd and the
// limactl double), e2e (a real rootless buildkitd where one is installed). Run from the repository's root:
//   scripts/jbang tests/RunTests.java [fast|integration|e2e|TIER.CLASS]...

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

class RunTests {
    static final List<String> TIERS = List.of("fast", "integration", "e2e");

    public static void main(String[] args) {
        List<String> chosen = args.length == 0 ? TIERS : List.of(args);
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String choice : chosen) {
            String tier = choice.split("\\.")[0];
            if (!TIERS.contains(tier)) {
                System.err.println("RunTests: unknown tier '" + tier + "'; choose from " + TIERS
                        + ", or name a class as TIER.CLASS");
                System.exit(2);
            }
            request.selectors(choice.contains(".") ? DiscoverySelectors.selectClass(choice)
                    : DiscoverySelectors.selectPackage(choice));
        }
        List<String> tiers = chosen.stream().map(c -> c.split("\\.")[0]).distinct().toList();
        Report report = new Report();
        Launcher launcher = LauncherFactory.create();
        LauncherDiscoveryRequest discovery = request.build();
        launcher.execute(discovery, report);
        System.exit(report.finish(tiers));
    }

    /** Prints a line per test as it ends, skips with their reasons, and counts per tier. */
    static final class Report implements TestExecutionListener {
        final Map<String, int[]> perTier = new TreeMap<>();
        final AtomicInteger passed = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicInteger skipped = new AtomicInteger();
        final List<String> failures = new ArrayList<>();

        @Override
        public void executionSkipped(TestIdentifier test, String reason) {
            skipped.incrementAndGet();
            count(test, 2);
            System.out.println("SKIP " + name(test) + ": " + reason);
        }

        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (!test.isTest()) {
                if (result.getStatus() == TestExecutionResult.Status.FAILED) {
                    failed.incrementAndGet();
                    failures.add(name(test) + "\n" + trace(result.getThrowable()));
                    System.out.println("FAIL " + name(test) + " (container): " + message(result.getThrowable()));
                }
                return;
            }
            switch (result.getStatus()) {
                case SUCCESSFUL -> {
                    passed.incrementAndGet();
                    count(test, 0);
                    System.out.println("ok   " + name(test));
                }
                case ABORTED -> {
                    skipped.incrementAndGet();
                    count(test, 2);
                    System.out.println("SKIP " + name(test) + ": " + message(result.getThrowable()));
                }
                case FAILED -> {
                    failed.incrementAndGet();
                    count(test, 1);
                    failures.add(name(test) + "\n" + trace(result.getThrowable()));
                    System.out.println("FAIL " + name(test) + ": " + message(result.getThrowable()));
                }
            }
            System.out.flush();
        }

        void count(TestIdentifier test, int column) {
            String tier = test.getUniqueId().replaceAll(".*\\[class:([a-z0-9]+)\\..*", "$1");
            perTier.computeIfAbsent(TIERS.contains(tier) ? tier : "other", t -> new int[3])[column]++;
        }

        static String name(TestIdentifier test) {
            String id = test.getUniqueId();
            String type = id.replaceAll(".*\\[class:([^\\]]+)\\].*", "$1");
            return (type.equals(id) ? "" : type + " > ") + test.getDisplayName();
        }

        static String message(Optional<Throwable> failure) {
            return failure.map(t -> String.valueOf(t.getMessage()).lines().findFirst().orElse(t.toString()))
                    .orElse("");
        }

        static String trace(Optional<Throwable> failure) {
            StringWriter text = new StringWriter();
            failure.ifPresent(t -> t.printStackTrace(new PrintWriter(text)));
            return text.toString().lines().limit(25).reduce("", (a, b) -> a + b + "\n");
        }

        int finish(List<String> tiers) {
            failures.forEach(f -> System.out.println("\n--- failed: " + f));
            System.out.println();
            for (String tier : tiers) {
                int[] c = perTier.getOrDefault(tier, new int[3]);
                System.out.printf("tier %-11s %d passed, %d failed, %d skipped%n", tier, c[0], c[1], c[2]);
            }
            System.out.printf("%d passed, %d failed, %d skipped%n", passed.get(), failed.get(), skipped.get());
            if (passed.get() + failed.get() == 0) {
                System.out.println("RunTests: no test ran");
                return 1;
            }
            return failed.get() == 0 ? 0 : 1;
        }
    }
}
