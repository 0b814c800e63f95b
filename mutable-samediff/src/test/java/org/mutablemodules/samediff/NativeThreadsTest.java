package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class NativeThreadsTest {

    @Test
    void limitSetsBothPoolsAndIsRestored() {
        int blas = NativeThreads.blasThreads();
        int libnd4j = Nd4j.getEnvironment().maxMasterThreads();
        try {
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

    @Test
    void zeroThreadsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeThreads.limit(0));
        assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
    }
}
