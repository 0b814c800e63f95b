package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code scripts/gpu-check.sh} does on machines where it must stop before building: no driver, no GPU, a GPU
 * this ND4J release cannot run (simulated with a stand-in nvidia-smi).
 */
class GpuCheckScriptTest {

    private static final Path SCRIPT = Path.of("..", "scripts", "gpu-check.sh");

    private record Run(int exitCode, String output) {
    }

    private static Run run(String nvidiaSmi) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString()).redirectErrorStream(true);
        pb.environment().put("NVIDIA_SMI", nvidiaSmi);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the script must stop by itself");
        return new Run(p.exitValue(), out);
    }

    private static String fakeNvidiaSmi(Path dir, String body) throws IOException {
        Path fake = dir.resolve("nvidia-smi");
        Files.writeString(fake, "#!/usr/bin/env bash\n" + body + "\n");
        assertTrue(fake.toFile().setExecutable(true));
        return fake.toString();
    }

    @Test
    void withoutADriverItSaysSoAndExitsTwo() throws Exception {
        Run r = run("/nonexistent/nvidia-smi");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("No NVIDIA driver found"), r.output());
        assertTrue(r.output().strip().endsWith("GPU CHECK: NOT RUN - no NVIDIA GPU or driver"), r.output());
    }

    @Test
    void withADriverButNoGpuItExitsTwo(@TempDir Path dir) throws Exception {
        Run r = run(fakeNvidiaSmi(dir, "echo 'No devices were found'; exit 6"));
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("No devices were found"), r.output());
    }

    @Test
    void aHopperGpuIsRefusedBeforeAnythingIsBuilt(@TempDir Path dir) throws Exception {
        Run r = run(fakeNvidiaSmi(dir, "echo 'NVIDIA H200, 9.0, 550.54.15'"));
        assertEquals(3, r.exitCode(), r.output());
        assertTrue(r.output().contains("GPU 0 \"NVIDIA H200\" has compute capability 9.0"), r.output());
        assertTrue(r.output().contains(BackendCheck.supportedList()), r.output());
        assertTrue(r.output().strip().endsWith("GPU CHECK: UNSUPPORTED GPU - NVIDIA H200 (compute capability 9.0)"),
                r.output());
    }

    @Test
    void theScriptKnowsTheSameComputeCapabilitiesAsTheLibrary() throws Exception {
        Matcher m = Pattern.compile("SUPPORTED_CC=\"([0-9. ]+)\"").matcher(Files.readString(SCRIPT));
        assertTrue(m.find(), "SUPPORTED_CC not found in the script");
        assertEquals(BackendCheck.supportedList(), m.group(1).replace(" ", ", "));
    }
}
