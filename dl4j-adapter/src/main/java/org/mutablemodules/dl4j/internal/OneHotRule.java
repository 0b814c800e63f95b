package org.mutablemodules.dl4j.internal;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The input side of an {@code EmbeddingLayer} in a {@link FunctionalNetwork}: indices [N, 1] as one-hot rows
 * [N, nIn] of the network's data type, as the converter computes them; the {@link FunctionalLayer} after it is the
 * embedding's product with W (and its bias). Indices have no gradient.
 *
 * @param description how messages name it
 * @param classes     the number of rows of the embedding (nIn)
 * @param type        the network's data type
 */
record OneHotRule(String description, long classes, DataType type) implements ExplicitLayer {

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SDVariable rows = input.getSameDiff().oneHot(input.reshape(-1).castTo(DataType.INT64), (int) classes)
                .castTo(type);
        return new Pass(input, rows, rows, inputShape, new long[] {classes});
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (needInputGradient) {
            throw new IllegalStateException(description + " has no gradient with respect to its indices.");
        }
        return null;
    }
}
