package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/** Converters of DL4J's 2D convolution and subsampling layers (NCHW or NHWC activations). */
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
        // DL4J's [nOut, nIn, kH, kW] permuted to [kH, kW, nIn, nOut]: conv2d accepts OIYX weights, but its
        // backprop (conv2d_bp) ignores the format in 1.0.0-M2.1 and fails on them.
        SDVariable weights = sd.permute(ctx.param("W"), 2, 3, 1, 0);
        SDVariable bias = layer.hasBias() ? ctx.param("b").reshape(layer.getNOut()) : null;
        SDVariable x = input.value();
        SDVariable z = bias == null ? sd.cnn().conv2d(x, weights, config) : sd.cnn().conv2d(x, weights, bias, config);
        return new Activations(ActivationFunctions.apply(ctx, layer.getActivationFn(), z, nhwc ? 3 : 1), 4);
    };

    /** SubsamplingLayer: max, average (with DL4J's divisor option) or p-norm pooling. */
    static final LayerConverter<SubsamplingLayer> SUBSAMPLING = (ctx, layer, input) -> {
        if (layer.getClass() != SubsamplingLayer.class) {
            throw ctx.unsupported(layer.getClass().getSimpleName(), List.of("SubsamplingLayer"));
        }
        Pooling2DConfig.Pooling2DConfigBuilder config = Pooling2DConfig.builder()
                .kH(layer.getKernelSize()[0]).kW(layer.getKernelSize()[1])
                .sH(layer.getStride()[0]).sW(layer.getStride()[1])
                .pH(layer.getPadding()[0]).pW(layer.getPadding()[1])
                .dH(layer.getDilation()[0]).dW(layer.getDilation()[1])
                .paddingMode(paddingMode(ctx, layer.getConvolutionMode()))
                .isNHWC(layer.getCnn2dDataFormat() == CNN2DFormat.NHWC);
        SameDiff sd = ctx.sd();
        switch (layer.getPoolingType()) {
            case MAX:
                return input.with(sd.cnn().maxPooling2d(input.value(), config.build()));
            case AVG:
                boolean padded = layer.getConvolutionMode() == ConvolutionMode.Same
                        || layer.getPadding()[0] > 0 || layer.getPadding()[1] > 0;
                if (padded && layer.isAvgPoolIncludePadInDivisor()) {
                    return input.with(averageIncludingPadding(ctx, layer, input.value()));
                }
                // Divides by the number of elements inside the input (libnd4j's extra argument 0, which is also
                // exact without padding); this op's backprop passes the finite-difference check.
                return input.with(sd.cnn().avgPooling2d(input.value(), config.extra(0).build()));
            case PNORM:
                // (sum over the window of |x|^p)^(1/p), padding contributing zeros: libnd4j's pnormpool2d forward,
                // built from the window average (times its size) whose gradient is right.
                double p = layer.getPnorm();
                int window = layer.getKernelSize()[0] * layer.getKernelSize()[1];
                SDVariable powered = sd.math().pow(sd.math().abs(input.value()), p);
                SDVariable sum = averageIncludingPadding(ctx, layer, powered).mul(window);
                return input.with(sd.math().pow(sum, 1.0 / p));
            default:
                throw ctx.unsupported("pooling type " + layer.getPoolingType(), List.of("MAX", "AVG", "PNORM"));
        }
    };

    /**
     * Average pooling that divides by kH * kW, padding included (DL4J's {@code avgPoolIncludePadInDivisor}, its
     * default). libnd4j's avgpool2d computes it forward, but its backprop is wrong with padding in 1.0.0-M2.1; a
     * convolution of each channel with a constant kernel computes the same value with a correct gradient.
     */
    private static SDVariable averageIncludingPadding(ConversionContext ctx, SubsamplingLayer layer, SDVariable x) {
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
                .paddingMode(paddingMode(ctx, layer.getConvolutionMode()))
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

    /** Not converted yet (being written). */
    static final LayerConverter<Deconvolution2D> DECONVOLUTION = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<DepthwiseConvolution2D> DEPTHWISE = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<SeparableConvolution2D> SEPARABLE = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Convolution1DLayer> CONVOLUTION_1D = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Subsampling1DLayer> SUBSAMPLING_1D = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };
}
