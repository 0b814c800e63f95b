package org.mutablemodules.dl4j.internal;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Sums, means and norms along axes that may have size 1 at run time.
 *
 * <p>ND4J 1.0.0-M2.1 fails with a NullPointerException when a graph reduces a rank-2 array along an axis of size 1
 * (a [N, 1] column summed over axis 1, or a one-example [1, n] batch summed over axis 0): it takes a "no-op" path
 * that reads an input the graph session never set. Reductions of rank 3 and up are not affected, so a rank-2 input
 * gets a trailing unit axis first and loses it (and the reduced axes, unless kept) again after: two or three shape
 * ops more than a plain reduction.
 */
final class Reductions {

    private Reductions() {
    }

    /** {@code sum(x, keepDims, axes)}, also when an axis of a rank-2 {@code x} has size 1. */
    static SDVariable sum(SDVariable x, int rank, boolean keepDims, int... axes) {
        SameDiff sd = x.getSameDiff();
        if (rank != 2) {
            return sd.sum(x, keepDims, axes);
        }
        return dropAxes(sd, sd.sum(sd.expandDims(x, 2), true, axes), keepDims, axes);
    }

    /** {@code mean(x, keepDims, axes)}, also when an axis of a rank-2 {@code x} has size 1. */
    static SDVariable mean(SDVariable x, int rank, boolean keepDims, int... axes) {
        SameDiff sd = x.getSameDiff();
        if (rank != 2) {
            return sd.mean(x, keepDims, axes);
        }
        return dropAxes(sd, sd.mean(sd.expandDims(x, 2), true, axes), keepDims, axes);
    }

    /** {@code norm2(x, keepDims, axes)}, also when an axis of a rank-2 {@code x} has size 1. */
    static SDVariable norm2(SDVariable x, int rank, boolean keepDims, int... axes) {
        SameDiff sd = x.getSameDiff();
        if (rank != 2) {
            return sd.norm2(x, keepDims, axes);
        }
        return dropAxes(sd, sd.norm2(sd.expandDims(x, 2), true, axes), keepDims, axes);
    }

    private static SDVariable dropAxes(SameDiff sd, SDVariable reduced, boolean keepDims, int... axes) {
        // reduced with its axes kept, [a, b, 1]: the added axis goes, then the reduced ones unless they are kept
        // (ND4J's own keepDims=false drops too many axes of a [1, 1, 1] array)
        SDVariable out = sd.squeeze(reduced, 2);
        if (!keepDims) {
            int[] sorted = axes.clone();
            java.util.Arrays.sort(sorted);
            for (int i = sorted.length - 1; i >= 0; i--) {
                out = sd.squeeze(out, sorted[i]);
            }
        }
        return out;
    }
}
