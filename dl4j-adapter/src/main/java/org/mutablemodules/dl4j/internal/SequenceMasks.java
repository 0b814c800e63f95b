package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution1D;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * DL4J's feature and label masks (variable-length time series) in a masked replay of a converted network: which
 * layers take a mask and how it changes on the way. A mask holds 1 for the time steps present and 0 for padding; DL4J
 * propagates it as {@code feedForwardMaskArray} does: unchanged through recurrent layers, to one row per example and
 * time step through {@code RnnToFeedForwardPreProcessor} (dense layers then zero the rows of padding), and dropped by
 * the layers that leave the time axis ({@code LastTimeStep}, global pooling). A layer not listed here that a mask
 * reaches is refused by name: computing it without the mask would silently use the padding.
 */
@SuppressWarnings("deprecation")    // GravesLSTM, which networks still use
final class SequenceMasks {

    /** Layers that compute with the mask (each converter reads {@link LayerOutput#mask()}). */
    private static final Set<Class<? extends Layer>> MASKED = Set.of(LSTM.class, GravesLSTM.class, SimpleRnn.class,
            RnnOutputLayer.class, RnnLossLayer.class, LastTimeStep.class, Bidirectional.class,
            GlobalPoolingLayer.class, DenseLayer.class, DropoutLayer.class, OutputLayer.class, Convolution1DLayer.class,
            Convolution1D.class, Subsampling1DLayer.class, FrozenLayer.class, FrozenLayerWithBackprop.class,
            MaskZeroLayer.class, LossLayer.class);
    /**
     * Layers that DL4J computes without the mask and passes it on unchanged, which keep the time steps where they are
     * (batch normalisation's training statistics then include the padding, as DL4J's do).
     */
    private static final Set<Class<? extends Layer>> PASSING = Set.of(ActivationLayer.class,
            BatchNormalization.class, PReLULayer.class);

    /** Layers that change the number of time steps, whose mask DL4J nevertheless passes on unchanged. */
    private static final Set<Class<? extends Layer>> RESIZING = Set.of(ZeroPadding1DLayer.class, Cropping1D.class,
            Upsampling1D.class);

    /** The layers that take a mask, for messages. */
    static final List<String> SUPPORTED = List.of("LSTM", "GravesLSTM (outside LastTimeStep)", "SimpleRnn",
            "Bidirectional", "LastTimeStep", "RnnOutputLayer", "RnnLossLayer", "GlobalPoolingLayer",
            "DenseLayer, DropoutLayer, OutputLayer and LossLayer (after RnnToFeedForwardPreProcessor)",
            "Convolution1DLayer", "Subsampling1DLayer", "ScaleVertex", "ShiftVertex", "ElementWiseVertex",
            "ActivationLayer", "BatchNormalization", "PReLULayer", "FrozenLayer", "FrozenLayerWithBackprop",
            "LastTimeStepVertex", "PreprocessorVertex", "MergeVertex (along the features)", "StackVertex",
            "UnstackVertex", "MaskZeroLayer (which computes its own)",
            "SameDiffLayers that keep the time steps (SelfAttentionLayer, RecurrentAttentionLayer, LocallyConnected1D "
                    + "in Same mode, users' own)", "LearnedSelfAttentionLayer", "AttentionVertex");

    private SequenceMasks() {
    }

    /**
     * Converts {@code layer} with the mask that reaches it: refused unless the layer takes masks; passed on
     * unchanged by the layers that ignore it.
     */
    static LayerOutput convert(ConversionContext ctx, Layer layer, LayerOutput input, LayerConverter<Layer> converter) {
        if (input.mask() == null) {
            return converter.convert(ctx, layer, input);
        }
        if (PASSING.contains(layer.getClass())) {
            return converter.convert(ctx, layer, input).withMask(input.mask());
        }
        if (layer instanceof SameDiffLayer) {
            // DL4J's own SameDiff-based layers and users': defineLayer takes the mask, which DL4J passes on
            return converter.convert(ctx, layer, input);
        }
        if (RESIZING.contains(layer.getClass())) {
            throw refused(ctx, "DL4J passes the mask on unchanged although the layer changes the number of time "
                    + "steps, so the mask no longer lines up with the series");
        }
        if (!MASKED.contains(layer.getClass())) {
            throw refused(ctx);
        }
        return converter.convert(ctx, layer, input);
    }

    /** The refusal of a layer or vertex that a mask reaches but cannot take it. */
    static RuntimeException refused(ConversionContext ctx) {
        return ctx.unsupported("a features mask (variable-length time series), which it cannot take in the "
                + "converted graph", SUPPORTED);
    }

    /** The same, with the reason. */
    static RuntimeException refused(ConversionContext ctx, String reason) {
        return ctx.unsupported("a features mask (variable-length time series), which it cannot take in the "
                + "converted graph: " + reason, SUPPORTED);
    }

    /**
     * The weights of the rows of an NCW series output's loss ([N, n, T] permuted to rows [N T, ...]) from its labels
     * mask: one per row from a mask per step [N, T], one per element from a mask per output [N, n, T] (NCW: checked
     * by the caller), which DL4J refuses for a softmax scored by multi-class cross-entropy, as here.
     *
     * @param width the number of outputs, or -1 where the labels tell it
     */
    static SDVariable labelWeights(ConversionContext ctx, SDVariable labelMask, ILossFunction loss,
                                   IActivation activation, long width) {
        long[] shape = labelMask.placeholderShape();
        if (shape == null || shape.length != 3) {
            return labelMask.reshape(-1, 1);
        }
        if (activation instanceof ActivationSoftmax && loss instanceof LossMCXENT) {
            throw ctx.unsupported("a labels mask per output with a softmax scored by " + loss + " (DL4J refuses "
                    + "per-output masking there: the outputs of a softmax are not independent)",
                    List.of("a labels mask per time step"));
        }
        SameDiff sd = labelMask.getSameDiff();
        SDVariable rows = sd.permute(labelMask, 0, 2, 1);
        return width > 0 ? rows.reshape(-1, width)
                : sd.reshape(rows, sd.concat(0, ctx.longVector(-1), ctx.dimension(labelMask, 1)));
    }

    /**
     * The mask of a 1D convolution's or pooling's output, as DL4J's {@code ConvolutionUtils.cnn1dMaskReduction}
     * (DL4J computes those layers without the mask, whose {@code feedForwardMaskArray} does not keep it):
     * unchanged in Same or Causal mode with stride 1, else the maximum of the mask over each window (a step of the
     * output is present if any step its window reads is).
     */
    static SDVariable reduced(SDVariable mask, int kernel, int stride, int padding, int dilation,
                              ConvolutionMode mode) {
        if ((mode == ConvolutionMode.Same || mode == ConvolutionMode.Causal) && stride == 1) {
            return mask;
        }
        SameDiff sd = mask.getSameDiff();
        boolean same = mode == ConvolutionMode.Same || mode == ConvolutionMode.Causal;
        SDVariable pooled = sd.cnn().maxPooling2d(sd.expandDims(sd.expandDims(mask, 1), 3), Pooling2DConfig.builder()
                .kH(kernel).kW(1).sH(stride).sW(1).pH(same ? 0 : padding).pW(0).dH(dilation).dW(1)
                .paddingMode(ConvolutionMode.mapToMode(mode)).isNHWC(false).build());          // [N, 1, T', 1]
        return sd.squeeze(sd.squeeze(pooled, 3), 1);
    }

    /**
     * The time axis (1 or 2) of a masked series [N, a, b], found by dry runs: the axis that changes with the length
     * of the network's time-series inputs, where they have none fixed; else the axis as long as the mask at the
     * replay's length. -1 when neither tells (both axes as long as the mask, or no dry run possible).
     */
    static int timeAxis(ConversionContext ctx, LayerOutput series) {
        String x = series.value().name();
        int length = ctx.sequenceLength();
        Map<String, long[]> shapes = shapesAtLength(ctx, List.of(x, series.mask().name()), length);
        if (shapes == null) {
            return -1;
        }
        long[] at = shapes.get(x);
        Map<String, long[]> longer = shapesAtLength(ctx, List.of(x), length + 1);
        long[] after = longer == null ? null : longer.get(x);
        if (after != null && (at[1] != after[1]) != (at[2] != after[2])) {
            return at[1] != after[1] ? 1 : 2;
        }
        long steps = shapes.get(series.mask().name())[1];
        return (at[1] == steps) == (at[2] == steps) ? -1 : at[1] == steps ? 1 : 2;
    }

    /**
     * A dry run's shapes, or null where it cannot run: an input of open width (the dry run would take it for the
     * time axis), or a series that reads something of the replay's own length (a mask) at another length.
     */
    private static Map<String, long[]> shapesAtLength(ConversionContext ctx, List<String> names, int length) {
        try {
            return ConversionDryRun.shapesAtLength(ctx.sd(), names, length);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A [N, T] mask as time-major rows [T N, 1], the order of {@code RnnToFeedForwardPreProcessor}'s rows. */
    static SDVariable rows(SDVariable mask) {
        return mask.getSameDiff().permute(mask, 1, 0).reshape(-1, 1);
    }

    /** Time-major rows [T N, 1] back to a [N, T] mask of {@code examples} examples. */
    static SDVariable series(ConversionContext ctx, SDVariable rows) {
        SameDiff sd = ctx.sd();
        SDVariable shape = sd.concat(0, ctx.longVector(-1), ctx.dimension(ctx.networkInput(), 0));
        return sd.permute(sd.reshape(rows, shape), 1, 0);
    }

    /** The mask [N, T] broadcast over the features of a time series: [N, 1, T] (NCW) or [N, T, 1] (NWC). */
    static SDVariable overFeatures(SDVariable mask, boolean nwc) {
        return mask.getSameDiff().expandDims(mask, nwc ? 2 : 1);
    }

    /**
     * Each example's activations at its last time step present, [N, n], as DL4J's {@code LastTimeStep} takes them
     * from a masked series: the step selected by a one-hot row marking the mask's last 1 (a step present with no step
     * present after it, counted by an exclusive reverse cumulative sum: no reduction along the time axis, which
     * ND4J 1.0.0-M2.1 gets wrong for a single step; and layers before may have changed the number of steps), so the
     * gradient reaches that step only.
     *
     * @param series [N, n, T] (or [N, T, n] for {@code nwc})
     * @param mask   [N, T]
     */
    static SDVariable lastPresent(SDVariable series, SDVariable mask, boolean nwc) {
        SameDiff sd = series.getSameDiff();
        SDVariable after = sd.cumsum(mask, true, true, 1);                 // steps present after each step
        SDVariable last = mask.mul(sd.eq(after, 0.0).castTo(mask.dataType())).castTo(series.dataType());
        return sd.sum(series.mul(overFeatures(last, nwc)), nwc ? 1 : 2);
    }

    /**
     * Masked global pooling over the time axis 2 of [N, n, T] activations, as DL4J's {@code MaskedReductionUtil}:
     * the maximum over the steps present, their mean, sum, or p-norm.
     */
    static SDVariable pool(ConversionContext ctx, GlobalPoolingLayer layer, SDVariable x, SDVariable mask,
                           boolean keep) {
        SameDiff sd = ctx.sd();
        SDVariable m = overFeatures(mask, false);                                         // [N, 1, T]
        switch (layer.getPoolingType()) {
            case MAX:
                // the padding pushed far below any activation (finite, so that 0 times it stays 0)
                double low = x.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE ? -1e300 : -1e30;
                return sd.max(x.mul(m).add(m.sub(1.0).mul(-low)), keep, 2);
            case AVG:
                return sd.sum(x.mul(m), keep, 2).div(sd.sum(m, keep, 2));
            case SUM:
                return sd.sum(x.mul(m), keep, 2);
            case PNORM:
                double p = layer.getPnorm();
                return sd.math().pow(sd.sum(sd.math().pow(sd.math().abs(x.mul(m)), p), keep, 2), 1.0 / p);
            default:
                throw ctx.unsupported("pooling type " + layer.getPoolingType(), List.of("MAX", "AVG", "SUM", "PNORM"));
        }
    }
}
