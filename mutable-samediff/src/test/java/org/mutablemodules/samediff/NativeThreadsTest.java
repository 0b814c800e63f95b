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
            restoreDefault(blas, libnd4j);
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

    @ParameterizedTest(name = "property {0}, OMP_NUM_THREADS {1}, limit() called {2}, {3} per computation -> {4}")
    @CsvSource(nullValues = "none", value = {
        "none, none, false, 1, 1", "none, none, false, 4, 4", "nd4j, none, false, 1, none", "3, none, false, 1, none",
        "none, 8, false, 1, none", "none, ' ', false, 2, 2", "none, none, true, 1, none"})
    void sideBySideEachComputationGetsItsThreadsUnlessTheUserChose(String property, String omp, boolean limited,
                                                                    int each, Integer expected) {
        assertEquals(expected, NativeThreads.sideBySideThreads(property, omp, limited, each));
    }

    /** The pools as the library's default left them, after a test that changed them and what was applied. */
    private static void restoreDefault(int blas, int libnd4j) {
        NativeThreads.forgetForTests();
        Nd4j.factory().blas().setMaxThreads(blas);
        Nd4j.getEnvironment().setMaxThreads(libnd4j);
        Nd4j.getEnvironment().setMaxMasterThreads(libnd4j);
        NativeThreads.applyDefault();
    }

    /** Both pools' threads (OpenBLAS takes at most as many as the machine has cores: these tests use 1 and 2). */
    private static void assertThreads(int expected, String message) {
        assertEquals(expected, NativeThreads.blasThreads(), message);
        assertEquals(expected, Nd4j.getEnvironment().maxMasterThreads(), message);
    }

    private static void setPools(int threads) {
        Nd4j.factory().blas().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
    }

    /** Runs {@code body}, then restores the pools and the library's default as they were. */
    private static void restoringThreads(Runnable body) {
        int blas = NativeThreads.blasThreads();
        int libnd4j = Nd4j.getEnvironment().maxMasterThreads();
        try {
            body.run();
        } finally {
            restoreDefault(blas, libnd4j);
        }
    }

    @Test
    void sideBySideSetsEachComputationsThreadsOnceAndLeavesTheUsersLimit() {
        restoringThreads(() -> {
            NativeThreads.forgetForTests();
            setPools(2);
            NativeThreads.applyForSideBySide(1);
            assertThreads(1, "each computation's count");
            NativeThreads.applyForSideBySide(2);
            assertThreads(1, "once per process: the first count stays");

            NativeThreads.forgetForTests();
            setPools(1);
            NativeThreads.applyForSideBySide(2);
            assertThreads(2, "each computation's count");
            NativeThreads.applyDefault();
            assertThreads(2, "the default for one computation (one thread on 2 cores) does not replace it");

            NativeThreads.forgetForTests();
            NativeThreads.limit(2);
            NativeThreads.applyForSideBySide(1);
            assertThreads(2, "the user's limit stays");
        });
    }

    @Test
    void theDefaultDoesNotReplaceALimitSetBeforeIt() {
        restoringThreads(() -> {
            NativeThreads.forgetForTests();
            NativeThreads.limit(2);
            NativeThreads.applyDefault();
            assertThreads(2, "the user's limit, not the default (one thread on 2 cores)");
        });
    }

    @Test
    void aBadSideBySideCountIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeThreads.applyForSideBySide(0));
        assertTrue(e.getMessage().contains("threadsEach") && e.getMessage().contains("at least 1"), e.getMessage());
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
