package org.mutablemodules.benchmarks;

import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Prints the BLAS the Java side of {@code bench/compare.sh} runs on: ND4J's backend and the OpenBLAS build it loaded
 * (vendor, version and build target), for the run's record beside PyTorch's BLAS.
 */
public final class BlasInfo {

    private BlasInfo() {
    }

    /**
     * Prints one line.
     *
     * @param args not used
     */
    public static void main(String[] args) {
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        Object vendor = Nd4j.getExecutioner().getEnvironmentInformation().get("blas.vendor");
        System.out.println("ND4J " + backend + ", BLAS " + vendor + " " + openblas.OPENBLAS_VERSION.trim()
                + " (JavaCPP build for " + openblas.OPENBLAS_CHAR_CORENAME.trim() + ")");
    }
}
