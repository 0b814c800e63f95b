package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.factory.Nd4j;

class NativeThreadsTest {

    @Test
    void limitSetsBothPoolsAndIsRestored() {
        int blas = NativeThreads.blasThreads();
        int libnd4j = Nd4j.getEnvironment().maxMasterThreads();
        try {
            NativeThreads.limit(2);
            assertEquals(2, NativeThreads.blasThreads());
            assertEquals(2, Nd4j.getEnvironment().maxMasterThreads());
            NativeThreads.limit(1);
            assertEquals(1, NativeThreads.blasThreads());
            assertEquals(1, Nd4j.getEnvironment().maxMasterThreads());
        } finally {
            Nd4j.factory().blas().setMaxThreads(blas);
            Nd4j.getEnvironment().setMaxThreads(libnd4j);
            Nd4j.getEnvironment().setMaxMasterThreads(libnd4j);
        }
        assertEquals(blas, NativeThreads.blasThreads());
    }

    @ParameterizedTest(name = "property {0}, OMP_NUM_THREADS {1}, {2} cores -> {3}")
    @CsvSource(nullValues = "none", value = {
        "none, none, 2, 1", "none, none, 1, 1", "none, none, 8, none", "none, 4, 2, none", "nd4j, none, 2, none",
        "3, none, 2, 3", "3, 1, 64, 3", " 2 , none, 16, 2"})
    void theDefaultIsOneThreadOnSmallMachinesUnlessTheUserChose(String property, String omp, int cores,
                                                                Integer expected) {
        assertEquals(expected, NativeThreads.defaultThreads(property, omp, cores));
    }

    @Test
    void aBadPropertyIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeThreads.defaultThreads("many", null, 2));
        assertTrue(e.getMessage().contains(NativeThreads.PROPERTY) && e.getMessage().contains("\"many\""),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeThreads.defaultThreads("0", null, 2));
    }

    @Test
    void zeroThreadsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeThreads.limit(0));
        assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
    }
}
