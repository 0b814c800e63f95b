package org.mutablemodules.dl4j.internal;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The activations a layer or vertex passes on: the variable and its rank (2: [N, n]; 3: [N, n, T] or [N, T, n];
 * 4: images), which SameDiff does not track before the graph runs and some layers need (batch normalisation, global
 * pooling).
 */
record LayerOutput(SDVariable value, int rank) {

    LayerOutput with(SDVariable newValue) {
        return new LayerOutput(newValue, rank);
    }
}
