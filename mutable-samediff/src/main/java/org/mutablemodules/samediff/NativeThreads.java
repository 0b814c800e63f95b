package org.mutablemodules.samediff;

import org.nd4j.linalg.factory.Nd4j;

/**
 * The number of native threads ND4J computes with, set at run time: what the environment variable
 * {@code OMP_NUM_THREADS} does at start-up, without it. ND4J's defaults (one thread per core for libnd4j's ops and
 * one for OpenBLAS's matrix products) leave idle native threads spinning on the cores the JVM needs on small
 * machines, which makes step times erratic. Measured on 2 cores (a 784-256-10 MLP's forward pass, batch 128, 500
 * calls): 90th percentile 4.9 to 8.6 ms with the defaults, 1.14 to 1.28 ms after {@code limit(1)}, 1.19 ms with
 * {@code OMP_NUM_THREADS=1}; setting only one of the two pools did not help (5.2 and 3.9 to 6.3 ms).
 */
public final class NativeThreads {

    private NativeThreads() {
    }

    /**
     * Limits both native pools, libnd4j's and OpenBLAS's, to {@code threads} threads, for the whole process.
     *
     * @param threads the number of threads, at least 1 (1 is best on machines with few cores)
     * @throws IllegalArgumentException if {@code threads} is less than 1
     */
    public static void limit(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads + ".");
        }
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }

    /** The number of threads OpenBLAS now uses for matrix products. */
    public static int blasThreads() {
        return Nd4j.factory().blas().getMaxThreads();
    }
}
