package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.factory.Nd4j;

/** The GPU compatibility decision, with the compute capability given as input so that it runs on the CPU. */
class BackendCheckTest {

    @ParameterizedTest(name = "{0} ({1}.{2}) supported: {3}")
    @CsvSource({
        "Tesla K80, 3, 7, true",
        "Tesla K40, 3, 5, false",
        "GeForce GTX 980, 5, 2, true",
        "Tesla P100, 6, 0, true",
        "Tesla V100, 7, 0, true",
        "Jetson Xavier, 7, 2, true",
        "Tesla T4, 7, 5, true",
        "A100, 8, 0, true",
        "RTX 3090, 8, 6, true",
        "RTX 4090 (Ada; runs the 8.6 code), 8, 9, true",
        "H100, 9, 0, false",
        "H200, 9, 0, false",
        "B200, 10, 0, false",
        "Fermi, 2, 1, false"})
    void decidesByCudaBinaryCompatibility(String gpu, int major, int minor, boolean supported) {
        assertEquals(supported, BackendCheck.isSupported(major, minor));
        if (supported) {
            assertDoesNotThrow(() -> BackendCheck.requireSupported(0, gpu, major, minor));
        } else {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> BackendCheck.requireSupported(1, gpu, major, minor));
            assertTrue(e.getMessage().startsWith("GPU 1 \"" + gpu + "\" has compute capability " + major + "." + minor),
                    e.getMessage());
            assertTrue(e.getMessage().contains("3.7, 5.0, 5.2, 6.0, 6.1, 7.0, 7.5, 8.0, 8.6"), e.getMessage());
        }
    }

    /** Runs on whichever backend the build selected (CPU by default, CUDA with its profile). */
    @Test
    void describesTheBackendItRunsOn() {
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        String description = BackendCheck.describe();
        if (BackendCheck.isCuda()) {
            assertTrue(description.startsWith("CUDA backend (" + backend + "); GPU 0 \""), description);
            assertTrue(description.contains("compute capability"), description);
        } else {
            assertEquals("CPU backend (" + backend + ")", description);
            assertFalse(backend.toLowerCase(Locale.ROOT).contains("cublas"), backend);
        }
        // tests run at all only on a backend with code for its GPUs, so the check passes wherever they run
        assertDoesNotThrow(BackendCheck::requireSupportedGpus);
    }
}
