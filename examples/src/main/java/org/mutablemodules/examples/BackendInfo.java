package org.mutablemodules.examples;

import org.mutablemodules.samediff.BackendCheck;

/**
 * Prints the ND4J backend and, on CUDA, each GPU with its compute capability; used by {@code scripts/gpu-check.sh}.
 * With {@code --require-cuda} it fails unless the CUDA backend runs and every GPU is supported.
 */
public final class BackendInfo {

    private BackendInfo() {
    }

    /**
     * Prints the backend description.
     *
     * @param args {@code --require-cuda} optionally
     */
    public static void main(String[] args) {
        System.out.println(BackendCheck.describe());
        if (args.length > 0 && "--require-cuda".equals(args[0])) {
            requireCuda();
        }
    }

    /**
     * Fails unless ND4J runs on its CUDA backend with supported GPUs.
     *
     * @throws IllegalStateException on the CPU backend, or naming an unsupported GPU
     */
    static void requireCuda() {
        if (!BackendCheck.isCuda()) {
            throw new IllegalStateException("Expected ND4J's CUDA backend but this process runs on "
                    + BackendCheck.describe() + ": build and run with -Pcuda.");
        }
        BackendCheck.requireSupportedGpus();
    }
}
