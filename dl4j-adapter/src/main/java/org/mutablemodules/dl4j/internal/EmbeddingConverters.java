package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Converters of the embedding layers. A lookup is {@code oneHot(index) W}: ND4J's gather has a broken gradient in
 * 1.0.0-M2.1, and the one-hot product also sums the gradients of repeated indices correctly.
 */
final class EmbeddingConverters {

    private EmbeddingConverters() {
    }

    /** EmbeddingLayer: input [N, 1] of indices, output {@code act(W[index] + b)} [N, nOut]. */
    static final LayerConverter<EmbeddingLayer> EMBEDDING = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        SameDiff sd = ctx.sd();
        SDVariable indices = input.value().reshape(-1).castTo(DataType.INT64);
        SDVariable z = sd.oneHot(indices, (int) layer.getNIn()).castTo(ctx.dataType()).mmul(ctx.param("W"));
        if (layer.hasBias()) {
            z = z.add(ctx.param("b"));
        }
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 1), 2);
    };

    /**
     * EmbeddingSequenceLayer: input [N, T] or [N, 1, T] of indices, output [N, nOut, T] (NCW) or [N, T, nOut] (NWC).
     */
    static final LayerConverter<EmbeddingSequenceLayer> EMBEDDING_SEQUENCE = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        SameDiff sd = ctx.sd();
        SDVariable x = input.value();
        long nOut = layer.getNOut();
        // [N, T, nOut]: the batch size and sequence length come from the input at run time.
        SDVariable shape = sd.concat(0, ctx.dimension(x, 0), ctx.longVector(-1), ctx.longVector(nOut));
        SDVariable indices = x.reshape(-1).castTo(DataType.INT64);
        SDVariable z = sd.oneHot(indices, (int) layer.getNIn()).castTo(ctx.dataType()).mmul(ctx.param("W"));
        if (layer.hasBias()) {
            z = z.add(ctx.param("b"));
        }
        SDVariable ntc = sd.reshape(z, shape);
        if (layer.getOutputFormat() != RNNFormat.NWC && layer.getOutputFormat() != RNNFormat.NCW) {
            throw ctx.unsupported("output format " + layer.getOutputFormat(), List.of("NCW", "NWC"));
        }
        SDVariable out = layer.getOutputFormat() == RNNFormat.NWC ? ntc : sd.permute(ntc, 0, 2, 1);
        // DL4J applies the activation to its [N, nOut, T] (or [N, T, nOut]) output: softmax over the last axis.
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), out, 2), 3);
    };
}
