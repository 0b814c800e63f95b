package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Converters of DL4J's feed-forward layers, all on [N, n] activations: {@code z = x W + b}, then the activation.
 * Dropout is the identity, as in DL4J at inference.
 */
final class FeedForwardConverters {

    private FeedForwardConverters() {
    }

    /** DenseLayer: {@code act(x W + b)}; W [nIn, nOut], b [1, nOut]. */
    static final LayerConverter<DenseLayer> DENSE = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        if (layer.hasLayerNorm()) {
            throw ctx.unsupported("layer normalisation (hasLayerNorm)", List.of("DenseLayer without layer norm"));
        }
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(),
                affine(ctx, input.value(), layer.hasBias()), 1);
        // the rows of padding zeroed, as DL4J's BaseLayer applies the mask of rows after RnnToFeedForward
        return input.mask() == null ? new LayerOutput(out, 2)
                : new LayerOutput(out.mul(input.mask()), 2, input.mask());
    };

    /**
     * OutputLayer: a dense layer whose activations are scored against the labels. With a mask of rows (after
     * {@code RnnToFeedForwardPreProcessor}), as DL4J's: the rows of padding zeroed in the output and left out of the
     * score, which is still divided by the number of rows.
     */
    static final LayerConverter<OutputLayer> OUTPUT = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        SDVariable logits = affine(ctx, input.value(), layer.hasBias());
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(), logits, 1);
        SDVariable rows = input.mask();
        if (rows != null) {
            if (ctx.hasLabels()) {
                SameDiff sd = ctx.sd();
                SDVariable labels = ctx.labelsPlaceholder(-1, layer.getNOut());
                SDVariable weights = rows.div(sd.sum(ctx.dimension(labels, 0).castTo(ctx.dataType())));
                ctx.defineLoss(Losses.weightedScore(layer.getLossFn(), layer.getActivationFn(), logits, out, labels,
                        weights, layer.getNOut(), what -> ctx.unsupported(what, Losses.SUPPORTED)), labels);
            }
            return new LayerOutput(out.mul(rows), 2, rows);
        }
        if (ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, layer.getNOut());
            ctx.defineLoss(Losses.score(ctx, layer.getLossFn(), layer.getActivationFn(), logits, out, labels),
                    labels);
        }
        return new LayerOutput(out, 2);
    };

    /**
     * LossLayer: no parameters; the activation of the input is scored against the labels. With a mask of rows (after
     * {@code RnnToFeedForwardPreProcessor}), as OutputLayer and as DL4J's: the rows of padding zeroed in the output and
     * left out of the score, which is still divided by the number of rows.
     */
    static final LayerConverter<LossLayer> LOSS = (ctx, layer, input) -> {
        if (input.rank() != 2) {
            throw ctx.unsupported("input of rank " + input.rank(), List.of("LossLayer on [N, n] activations"));
        }
        SDVariable out = ActivationFunctions.apply(ctx, layer.getActivationFn(), input.value(), 1);
        SDVariable rows = input.mask();
        if (rows != null) {
            if (ctx.hasLabels()) {
                SameDiff sd = ctx.sd();
                SDVariable labels = ctx.labelsPlaceholder(-1, -1);
                SDVariable weights = rows.div(sd.sum(ctx.dimension(labels, 0).castTo(ctx.dataType())));
                ctx.defineLoss(Losses.weightedScore(layer.getLossFn(), layer.getActivationFn(), input.value(), out,
                        labels, weights, sd.sum(ctx.dimension(labels, 1).castTo(ctx.dataType())),
                        what -> ctx.unsupported(what, Losses.SUPPORTED)), labels);
            }
            return new LayerOutput(out.mul(rows), 2, rows);
        }
        if (ctx.hasLabels()) {
            SDVariable labels = ctx.labelsPlaceholder(-1, -1);
            ctx.defineLoss(Losses.score(ctx, layer.getLossFn(), layer.getActivationFn(), input.value(), out, labels),
                    labels);
        }
        return new LayerOutput(out, 2);
    };

    /** ActivationLayer: the activation alone (softmax over the last axis, as DL4J applies it to the whole array). */
    static final LayerConverter<ActivationLayer> ACTIVATION = (ctx, layer, input) ->
            input.with(ActivationFunctions.apply(ctx, layer.getActivationFn(), input.value(), input.rank() - 1));

    /**
     * DropoutLayer: the identity, as in DL4J at inference; with a mask of rows, the rows of padding zeroed, as
     * DL4J's does (it cannot apply a mask to time series: refused there).
     */
    static final LayerConverter<DropoutLayer> DROPOUT = (ctx, layer, input) -> {
        if (input.mask() == null) {
            return input;
        }
        if (input.rank() != 2) {
            throw SequenceMasks.refused(ctx, "DL4J's own DropoutLayer fails on a masked series (it multiplies the "
                    + "[N, C, T] activations by the [N, T] mask); on the rows after RnnToFeedForwardPreProcessor it "
                    + "converts");
        }
        return input.with(input.value().mul(input.mask()));
    };

    static SDVariable affine(ConversionContext ctx, SDVariable input, boolean hasBias) {
        SDVariable z = input.mmul(ctx.param("W"));
        return hasBias ? z.add(ctx.param("b")) : z;
    }

    /**
     * PReLULayer: {@code max(x, 0) - alpha * max(-x, 0)}, which is {@code x} for {@code x >= 0} and {@code alpha x}
     * below. alpha ("W") has the input shape without the minibatch ({@code inputShape}, e.g. [n] or [C, H, W]) with
     * the shared axes set to 1, and broadcasts over them. Composed from relu: the graph needs no prelu op gradient.
     */
    static final LayerConverter<PReLULayer> PRELU = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        long[] shape = layer.getInputShape();
        if (shape == null || shape.length + 1 != input.rank()) {
            throw ctx.unsupported("an inputShape " + Arrays.toString(shape) + " that does not match its rank "
                    + input.rank() + " input", List.of("PReLULayer with an inputShape of the input's rank minus one"));
        }
        SameDiff sd = ctx.sd();
        SDVariable alpha = ctx.param("W");
        long[] broadcast = new long[shape.length + 1];        // [1, alpha's shape]: one alpha for every example
        broadcast[0] = 1;
        System.arraycopy(alpha.getShape(), 0, broadcast, 1, shape.length);
        SDVariable x = input.value();
        SDVariable negative = sd.nn().relu(x.neg(), 0.0).mul(alpha.reshape(broadcast));
        return input.with(sd.nn().relu(x, 0.0).sub(negative));
    };
}
