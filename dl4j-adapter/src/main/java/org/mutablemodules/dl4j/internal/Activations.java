package org.mutablemodules.dl4j.internal;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Activations flowing between layers: the variable and its rank (2: [N, n]; 3: [N, n, T] or [N, T, n]; 4: images),
 * which SameDiff does not track before the graph runs and some layers need (batch normalisation, global pooling).
 */
record Activations(SDVariable value, int rank) {

    Activations with(SDVariable newValue) {
        return new Activations(newValue, rank);
    }
}
