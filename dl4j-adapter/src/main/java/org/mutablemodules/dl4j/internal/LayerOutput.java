package org.mutablemodules.dl4j.internal;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The activations a layer or vertex passes on: the variable and its rank (2: [N, n]; 3: [N, n, T] or [N, T, n];
 * 4: images), which SameDiff does not track before the graph runs and some layers need (batch normalisation, global
 * pooling), and the features mask that reaches them in a masked replay ({@link SequenceMasks}): [N, T] for time
 * series, one row [T N, 1] per example and time step for their rows; null without a mask.
 */
record LayerOutput(SDVariable value, int rank, SDVariable mask) {

    LayerOutput(SDVariable value, int rank) {
        this(value, rank, null);
    }

    /** Other activations of the same rank, with the same mask. */
    LayerOutput with(SDVariable newValue) {
        return new LayerOutput(newValue, rank, mask);
    }

    /** These activations with {@code newMask} (null for none). */
    LayerOutput withMask(SDVariable newMask) {
        return new LayerOutput(value, rank, newMask);
    }
}
