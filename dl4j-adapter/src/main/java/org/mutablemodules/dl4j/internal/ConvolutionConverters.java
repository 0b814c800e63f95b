package org.mutablemodules.dl4j.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv1DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converters of DL4J's convolution and subsampling layers: 2D (NCHW or NHWC activations) and 1D (NCW or NWC time
 * series).
 */
final class ConvolutionConverters {

    private static final List<String> MODES = List.of("ConvolutionMode Truncate, Strict, Same");

    private ConvolutionConverters() {
    }

    /** ConvolutionLayer: W [nOut, nIn, kH, kW], b [1, nOut]. */
    static final LayerConverter<ConvolutionLayer> CONVOLUTION = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        if (layer.getClass() != ConvolutionLayer.class
                && layer.getClass() != org.deeplearning4j.nn.conf.layers.Convolution2D.class) {
            throw ctx.unsupported(layer.getClass().getSimpleName(), List.of("ConvolutionLayer", "Convolution2D"));
        }
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        Conv2DConfig config = Conv2DConfig.builder()
                .kH(layer.getKernelSize()[0]).kW(layer.getKernelSize()[1])
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(layer.getPadding()[0]).pW(layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .paddingMode(paddingMode(ctx, layer.getConvolutionMode()))
                .dataFormat(nhwc ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
        SameDiff sd = ctx.sd();
        ConvolutionRule rule = ctx.replays() ? windowedRule(ctx, layer) : null;
        if (rule != null) {
            // A functional call (meta-learning, hypernetworks: small layers, differentiated again and again): the
            // windows times the weights, whose gradient is a matrix product and im2col's, several times faster than
            // libnd4j's conv2d_bp on such arrays. The converted network itself keeps conv2d (faster on large ones).
            SDVariable z = rule.convolve(input.value(), exampleShape(ctx, input.value()), ctx.param("W"),
                    layer.hasBias() ? ctx.param("b") : null)[0];
            return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 3), 4);
        }
        // DL4J's [nOut, nIn, kH, kW] permuted to [kH, kW, nIn, nOut]: conv2d accepts OIYX weights, but its
        // backprop (conv2d_bp) ignores the format in 1.0.0-M2.1 and fails on them.
        SDVariable weights = sd.permute(ctx.param("W"), 2, 3, 1, 0);
        SDVariable bias = layer.hasBias() ? ctx.param("b").reshape(layer.getNOut()) : null;
        SDVariable x = input.value();
        SDVariable z = bias == null ? sd.cnn().conv2d(x, weights, config) : sd.cnn().conv2d(x, weights, bias, config);
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 3), 4);
    };

    /** The largest kernel, nOut nIn kH kW, that a functional call convolves as windows times weights. */
    static final long WINDOWED_KERNEL_LIMIT = 1 << 14;

    /**
     * The rule that convolves {@code layer}'s windows with its weights in a functional call, or null where conv2d
     * does: kernels above {@link #WINDOWED_KERNEL_LIMIT} values (the batched product holds the weights once per
     * example; conv2d is faster on large layers), and windows the rule refuses (Same-mode strides beyond the window
     * plus one, which conv2d computes).
     */
    private static ConvolutionRule windowedRule(ConversionContext ctx, ConvolutionLayer layer) {
        long kernel = layer.getNOut() * layer.getNIn() * layer.getKernelSize()[0] * layer.getKernelSize()[1];
        if (kernel > WINDOWED_KERNEL_LIMIT) {
            return null;
        }
        try {
            return ConvolutionRule.of(ctx.describe(), "", layer, DifferentiableActivation.of(null));
        } catch (UnsupportedLayerException e) {
            return null;
        }
    }

    /**
     * The per-example shape of {@code x}: declared, or found by a dry run when every placeholder it depends on has
     * every size but the examples' declared (then it is fixed); null otherwise. The windows' rules then build on
     * constant sizes instead of some forty shape ops.
     */
    private static long[] exampleShape(ConversionContext ctx, SDVariable x) {
        long[] declared = FunctionalNetwork.knownExampleShape(x);
        if (declared != null) {
            return declared;
        }
        Map<String, INDArray> zeros = org.mutablemodules.samediff.internal.DryRun.placeholders(ctx.sd(),
                List.of(x.name()), shape -> {
                    long[] concrete = shape.clone();
                    if (concrete.length == 0) {
                        return null;
                    }
                    concrete[0] = concrete[0] < 0 ? ConversionDryRun.MINIBATCH : concrete[0];
                    return Arrays.stream(concrete).allMatch(d -> d >= 0) ? concrete : null;
                });
        if (zeros == null) {
            return null;
        }
        long[] shape;
        try {
            shape = ConversionDryRun.shapes(ctx.sd(), zeros, List.of(x.name())).get(x.name());
        } catch (RuntimeException e) {
            return null;        // sizes read at run time then, as for an input of unknown sizes
        }
        return shape == null || shape.length < 2 ? null : Arrays.copyOfRange(shape, 1, shape.length);
    }

    /** SubsamplingLayer: max, average (with DL4J's divisor option) or p-norm pooling. */
    static final LayerConverter<SubsamplingLayer> SUBSAMPLING = (ctx, layer, input) -> {
        if (layer.getClass() != SubsamplingLayer.class) {
            throw ctx.unsupported(layer.getClass().getSimpleName(), List.of("SubsamplingLayer"));
        }
        return input.with(pool(ctx, layer, layer.getConvolutionMode(), input.value()));
    };

    /**
     * Pools {@code x} [N, C, H, W] (or [N, H, W, C]) as DL4J's 2D SubsamplingLayer does, with the layer's kernel,
     * stride, padding, dilation and format, in convolution mode {@code mode}.
     */
    private static SDVariable pool(ConversionContext ctx, SubsamplingLayer layer, ConvolutionMode mode, SDVariable x) {
        Pooling2DConfig.Pooling2DConfigBuilder config = Pooling2DConfig.builder()
                .kH(layer.getKernelSize()[0]).kW(layer.getKernelSize()[1])
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(layer.getPadding()[0]).pW(layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .paddingMode(paddingMode(ctx, mode))
                .isNHWC(layer.getCnn2dDataFormat() == CNN2DFormat.NHWC);
        SameDiff sd = ctx.sd();
        switch (layer.getPoolingType()) {
            case MAX:
                return sd.cnn().maxPooling2d(x, config.build());
            case AVG:
                boolean padded = mode == ConvolutionMode.Same
                        || layer.getPadding()[0] > 0 || layer.getPadding()[1] > 0;
                if (padded && layer.isAvgPoolIncludePadInDivisor()) {
                    return averageIncludingPadding(ctx, layer, mode, x);
                }
                // Divides by the number of elements inside the input (libnd4j's extra argument 0, which is also
                // exact without padding); this op's backprop passes the finite-difference check.
                return sd.cnn().avgPooling2d(x, config.extra(0).build());
            case PNORM:
                // (sum over the window of |x|^p)^(1/p), padding contributing zeros: libnd4j's pnormpool2d forward,
                // built from the window average (times its size) whose gradient is right.
                double p = layer.getPnorm();
                int window = layer.getKernelSize()[0] * layer.getKernelSize()[1];
                SDVariable powered = sd.math().pow(sd.math().abs(x), p);
                SDVariable sum = averageIncludingPadding(ctx, layer, mode, powered).mul(window);
                return sd.math().pow(sum, 1.0 / p);
            default:
                throw ctx.unsupported("pooling type " + layer.getPoolingType(), List.of("MAX", "AVG", "PNORM"));
        }
    }

    /**
     * Average pooling that divides by kH * kW, padding included (DL4J's {@code avgPoolIncludePadInDivisor}, its
     * default). libnd4j's avgpool2d computes it forward, but its backprop is wrong with padding in 1.0.0-M2.1; a
     * convolution of each channel with a constant kernel computes the same value with a correct gradient.
     */
    private static SDVariable averageIncludingPadding(ConversionContext ctx, SubsamplingLayer layer,
                                                      ConvolutionMode mode, SDVariable x) {
        SameDiff sd = ctx.sd();
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        SDVariable nchw = nhwc ? sd.permute(x, 0, 3, 1, 2) : x;
        int kH = layer.getKernelSize()[0];
        int kW = layer.getKernelSize()[1];
        SDVariable perChannel = sd.reshape(nchw, sd.concat(0, ctx.longVector(-1), ctx.longVector(1),
                ctx.dimension(nchw, 2), ctx.dimension(nchw, 3)));
        SDVariable kernel = sd.constant(Nd4j.valueArrayOf(new long[] {kH, kW, 1, 1}, 1.0 / (kH * kW), ctx.dataType()));
        Conv2DConfig config = Conv2DConfig.builder()
                .kH(kH).kW(kW)
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(layer.getPadding()[0]).pW(layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .paddingMode(paddingMode(ctx, mode))
                .dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
        SDVariable pooled = sd.cnn().conv2d(perChannel, kernel, config);
        SDVariable out = sd.reshape(pooled, sd.concat(0, ctx.dimension(nchw, 0), ctx.dimension(nchw, 1),
                ctx.dimension(pooled, 2), ctx.dimension(pooled, 3)));
        return nhwc ? sd.permute(out, 0, 2, 3, 1) : out;
    }

    private static PaddingMode paddingMode(ConversionContext ctx, ConvolutionMode mode) {
        switch (mode) {
            case Same:
                return PaddingMode.SAME;
            case Truncate:
            case Strict:
                return PaddingMode.VALID;
            default:
                throw ctx.unsupported("ConvolutionMode " + mode, MODES);
        }
    }

    /**
     * Deconvolution2D (transposed convolution): each input pixel adds its value times {@code W[i, :, :, :]} to an
     * output window at {@code stride * position - padding}; W [nIn, nOut, kH, kW], b [1, nOut]. The output size is
     * {@code (in - 1) * s + (k - 1) * d + 1 - 2p}, or {@code in * s} in Same mode.
     */
    static final LayerConverter<Deconvolution2D> DECONVOLUTION = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        boolean same = paddingMode(ctx, layer.getConvolutionMode()) == PaddingMode.SAME;
        DeConv2DConfig config = DeConv2DConfig.builder()
                .kH(layer.getKernelSize()[0]).kW(layer.getKernelSize()[1])
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(same ? 0 : layer.getPadding()[0]).pW(same ? 0 : layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .isSameMode(same)
                .dataFormat(nhwc ? DeConv2DConfig.NHWC : DeConv2DConfig.NCHW)
                .build();
        SameDiff sd = ctx.sd();
        // libnd4j's deconv2d takes [kH, kW, nOut, nIn], the permutation DL4J applies too. Its backprop (deconv2d_bp,
        // which reads no weight format) passes the finite-difference check in both data formats and every mode.
        SDVariable weights = sd.permute(ctx.param("W"), 2, 3, 1, 0);
        SDVariable z = layer.hasBias()
                ? sd.cnn().deconv2d(input.value(), weights, ctx.param("b").reshape(-1), config)
                : sd.cnn().deconv2d(input.value(), weights, config);
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 3), 4);
    };

    /**
     * DepthwiseConvolution2D: output channel {@code c * m + j} is input channel c convolved with
     * {@code W[:, :, c, j]}, plus its bias; W [kH, kW, nIn, m] (m the depth multiplier), b [1, nIn * m].
     */
    static final LayerConverter<DepthwiseConvolution2D> DEPTHWISE = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        SameDiff sd = ctx.sd();
        Conv2DConfig config = conv2dConfig(ctx, layer, nhwc);
        // Already libnd4j's [kH, kW, iC, mC] layout; depthwise_conv2d_bp passes the finite-difference check.
        SDVariable z = depthwise(sd, input.value(), ctx.param("W"), layer.getNIn(),
                layer.hasBias() ? ctx.param("b").reshape(-1) : null, config);
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 3), 4);
    };

    /**
     * SeparableConvolution2D: a depthwise convolution (W [m, nIn, kH, kW], channel {@code c * m + j} from input
     * channel c and {@code W[j, c]}) followed by a 1x1 convolution (pW [nOut, nIn * m, 1, 1]) and the bias b [1, nOut].
     */
    static final LayerConverter<SeparableConvolution2D> SEPARABLE = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        boolean nhwc = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC;
        SameDiff sd = ctx.sd();
        // Depthwise then pointwise, as libnd4j's fused sconv2d computes them, from two ops whose backprops pass the
        // finite-difference check in both data formats.
        SDVariable depthwise = depthwise(sd, input.value(), sd.permute(ctx.param("W"), 2, 3, 1, 0), layer.getNIn(),
                null, conv2dConfig(ctx, layer, nhwc));
        Conv2DConfig pointwise = Conv2DConfig.builder().kH(1).kW(1)
                .dataFormat(nhwc ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
        // [nOut, nIn * m, 1, 1] permuted to YXIO (conv2d_bp ignores OIYX weights, see CONVOLUTION).
        SDVariable pointWeights = sd.permute(ctx.param("pW"), 2, 3, 1, 0);
        SDVariable z = layer.hasBias()
                ? sd.cnn().conv2d(depthwise, pointWeights, ctx.param("b").reshape(-1), pointwise)
                : sd.cnn().conv2d(depthwise, pointWeights, pointwise);
        return new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 3), 4);
    };

    /**
     * Convolution1DLayer and Convolution1D over [N, nIn, T] (NCW) or [N, T, nIn] (NWC) series; W [nOut, nIn, k, 1]
     * whose 'c'-order elements DL4J reads as a [k, nIn, nOut] kernel (a reshape, not a permutation), b [1, nOut].
     * Causal mode pads {@code (k - 1) * d} steps on the left.
     */
    static final LayerConverter<Convolution1DLayer> CONVOLUTION_1D = (ctx, layer, input) -> {
        ctx.requireNoWeightNoise(layer);
        boolean nwc = layer.getRnnDataFormat() == RNNFormat.NWC;
        PaddingMode mode = layer.getConvolutionMode() == ConvolutionMode.Causal
                ? PaddingMode.CAUSAL : paddingMode(ctx, layer.getConvolutionMode());
        Conv1DConfig config = Conv1DConfig.builder()
                .k(layer.getKernelSize()[0]).s(layer.getStride()[0])
                .p(layer.getPadding()[0]).d(layer.getDilation()[0])
                .paddingMode(mode)
                .dataFormat(nwc ? Conv1DConfig.NWC : Conv1DConfig.NCW)
                .build();
        SameDiff sd = ctx.sd();
        // DL4J hands conv1d its [nOut, nIn, k, 1] array reshaped (not permuted) to conv1d's [k, nIn, nOut] layout.
        SDVariable weights = ctx.param("W").reshape(layer.getKernelSize()[0], layer.getNIn(), layer.getNOut());
        SDVariable z = layer.hasBias()
                ? sd.cnn().conv1d(input.value(), weights, ctx.param("b").reshape(-1), config)
                : sd.cnn().conv1d(input.value(), weights, config);
        LayerOutput out = new LayerOutput(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, 2), 3);
        if (input.mask() == null) {
            return out;
        }
        // computed without the mask, as DL4J's; the mask reduced over the windows is passed on
        return out.withMask(SequenceMasks.reduced(input.mask(), layer.getKernelSize()[0], layer.getStride()[0],
                layer.getPadding()[0], layer.getDilation()[0], layer.getConvolutionMode()));
    };

    /**
     * Subsampling1DLayer: the 2D pooling of SUBSAMPLING over [N, C, T, 1] (NCW input) or [N, T, 1, C] (NWC input),
     * with DL4J's 2D kernel and stride arrays; Causal mode pools as Truncate, as DL4J does.
     */
    static final LayerConverter<Subsampling1DLayer> SUBSAMPLING_1D = (ctx, layer, input) -> {
        // DL4J declares Causal mode's output length as Same mode's, but its forward pass pools as Truncate: the
        // graph computes what DL4J computes.
        ConvolutionMode mode = layer.getConvolutionMode() == ConvolutionMode.Causal
                ? ConvolutionMode.Truncate : layer.getConvolutionMode();
        if (mode != ConvolutionMode.Same && (layer.getPadding()[0] > 0 || layer.getPadding()[1] > 0)) {
            throw ctx.unsupported("padding " + layer.getPadding()[0] + " (DL4J pads the unit width axis as well, and "
                    + "its own forward pass then fails)",
                    List.of("Subsampling1DLayer without padding or in Same mode"));
        }
        SameDiff sd = ctx.sd();
        int unitAxis = layer.getCnn2dDataFormat() == CNN2DFormat.NHWC ? 2 : 3;
        SDVariable pooled = pool(ctx, layer, mode, sd.expandDims(input.value(), unitAxis));
        LayerOutput out = new LayerOutput(sd.squeeze(pooled, unitAxis), 3);
        if (input.mask() == null) {
            return out;
        }
        if (layer.getConvolutionMode() == ConvolutionMode.Causal && layer.getStride()[0] == 1) {
            // DL4J keeps a Causal layer's mask whole but pools as Truncate: the mask no longer fits the steps
            throw SequenceMasks.refused(ctx);
        }
        // computed without the mask, as DL4J's; the mask reduced over the windows is passed on
        return out.withMask(SequenceMasks.reduced(input.mask(), layer.getKernelSize()[0], layer.getStride()[0],
                layer.getPadding()[0], layer.getDilation()[0], layer.getConvolutionMode()));
    };

    /** The convolution options of a 2D layer, for conv2d-like ops (weights in YXIO where the op reads a format). */
    /**
     * A depthwise convolution with [kH, kW, nIn, m] weights. One input channel makes it an ordinary convolution with
     * the same YXIO weights, and is computed as one: libnd4j's depthwise_conv2d_bp fails for a single-element kernel
     * ("MmulHelper::dot: Z array must be scalar", fuzz seed 64).
     */
    private static SDVariable depthwise(SameDiff sd, SDVariable x, SDVariable weights, long nIn, SDVariable bias,
                                        Conv2DConfig config) {
        if (nIn == 1) {
            return bias == null ? sd.cnn().conv2d(x, weights, config) : sd.cnn().conv2d(x, weights, bias, config);
        }
        return bias == null ? sd.cnn().depthWiseConv2d(x, weights, config)
                : sd.cnn().depthWiseConv2d(x, weights, bias, config);
    }

    private static Conv2DConfig conv2dConfig(ConversionContext ctx, ConvolutionLayer layer, boolean nhwc) {
        return Conv2DConfig.builder()
                .kH(layer.getKernelSize()[0]).kW(layer.getKernelSize()[1])
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(layer.getPadding()[0]).pW(layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .paddingMode(paddingMode(ctx, layer.getConvolutionMode()))
                .dataFormat(nhwc ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO)
                .build();
    }
}
