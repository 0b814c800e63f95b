package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Converters of batch normalisation (inference, or training in a functional call in training mode), local response
 * normalisation and global pooling.
 */
final class NormalizationAndPoolingConverters {

    private NormalizationAndPoolingConverters() {
    }

    /**
     * BatchNormalization at inference: {@code gamma * (x - mean) / sqrt(var + eps) + beta} with the running mean and
     * variance (stored as variance, or as log10 of the standard deviation when {@code useLogStd}); in a functional
     * call in training mode, with the batch's mean and biased variance, as DL4J trains (the running statistics are
     * then not read, and a functional call updates nothing). The running
     * statistics become parameters whose initial values are never trained, as in DL4J. ND4J's own batchNorm op is not
     * used: its gradient fails in 1.0.0-M2.1.
     */
    static final LayerConverter<BatchNormalization> BATCH_NORM = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        long n = layer.getNOut();
        long[] broadcast = channelShape(input.rank(), n, layer.getCnn2DFormat() == CNN2DFormat.NHWC);
        SDVariable mean;
        SDVariable variance;
        if (ctx.training()) {
            if (input.rank() == 3) {
                // DL4J's training reshapes [N, C, T] to [1, N, C, T] and takes the examples for channels
                throw ctx.unsupported("batch normalisation of time series in training mode (DL4J's own takes their "
                        + "examples for channels)", List.of("rank-2 and rank-4 activations in training mode",
                        "time series in inference mode"));
            }
            // DL4J's training: the batch's mean and biased variance over every axis but the channels'
            int[] axes = nonChannelAxes(input.rank(), layer.getCnn2DFormat() == CNN2DFormat.NHWC);
            mean = Reductions.mean(input.value(), input.rank(), true, axes);
            SDVariable centred = input.value().sub(mean);
            variance = Reductions.mean(centred.mul(centred), input.rank(), true, axes);
        } else if (layer.isUseLogStd()) {
            mean = ctx.statistic("mean").reshape(broadcast);
            // var = (10^log10stdev)^2 = exp(2 ln(10) log10stdev)
            variance = sd.math().exp(ctx.statistic("log10stdev").mul(2 * Math.log(10))).reshape(broadcast);
        } else {
            mean = ctx.statistic("mean").reshape(broadcast);
            variance = ctx.statistic("var").reshape(broadcast);
        }
        SDVariable normalised = input.value().sub(mean).div(sd.math().sqrt(variance.add(layer.getEps())));
        SDVariable gamma;
        SDVariable beta;
        if (layer.isLockGammaBeta()) {
            gamma = sd.constant(layer.getGamma()).castTo(ctx.dataType());
            beta = sd.constant(layer.getBeta()).castTo(ctx.dataType());
        } else {
            gamma = ctx.param("gamma").reshape(broadcast);
            beta = ctx.param("beta").reshape(broadcast);
        }
        return input.with(normalised.mul(gamma).add(beta));
    };

    /** GlobalPoolingLayer over the time axis (rank 3) or the spatial axes (rank 4), or the axes configured. */
    static final LayerConverter<GlobalPoolingLayer> GLOBAL_POOLING = (ctx, layer, input) -> {
        int[] axes = layer.getPoolingDimensions();
        if (axes == null) {
            if (input.rank() == 3) {
                axes = new int[] {2};
            } else if (input.rank() == 4) {
                axes = new int[] {2, 3};
            } else {
                throw ctx.unsupported("input of rank " + input.rank(), List.of("rank 3 (time series)", "rank 4 (images)"));
            }
        }
        SameDiff sd = ctx.sd();
        SDVariable x = input.value();
        boolean keep = !layer.isCollapseDimensions();
        if (input.mask() != null) {
            if (input.rank() != 3 || axes.length != 1 || axes[0] != 2) {
                throw SequenceMasks.refused(ctx);
            }
            return new LayerOutput(SequenceMasks.pool(ctx, layer, x, input.mask(), keep), keep ? 3 : 2);
        }
        SDVariable pooled;
        switch (layer.getPoolingType()) {
            case MAX:
                pooled = sd.max(x, keep, axes);
                break;
            case AVG:
                pooled = sd.mean(x, keep, axes);
                break;
            case SUM:
                pooled = sd.sum(x, keep, axes);
                break;
            case PNORM:
                double p = layer.getPnorm();
                pooled = sd.math().pow(sd.sum(sd.math().pow(sd.math().abs(x), p), keep, axes), 1.0 / p);
                break;
            default:
                throw ctx.unsupported("pooling type " + layer.getPoolingType(), List.of("MAX", "AVG", "SUM", "PNORM"));
        }
        return new LayerOutput(pooled, keep ? input.rank() : input.rank() - axes.length);
    };

    /** The axes of activations of {@code rank} other than the channels' (features'). */
    static int[] nonChannelAxes(int rank, boolean channelsLast) {
        switch (rank) {
            case 2:
                return new int[] {0};
            case 3:
                return new int[] {0, 2};
            case 4:
                return channelsLast ? new int[] {0, 1, 2} : new int[] {0, 2, 3};
            default:
                throw new IllegalStateException("Batch normalisation of rank " + rank + " activations");
        }
    }

    private static long[] channelShape(int rank, long n, boolean channelsLast) {
        switch (rank) {
            case 2:
                return new long[] {1, n};
            case 3:
                return new long[] {1, n, 1};
            case 4:
                return channelsLast ? new long[] {1, 1, 1, n} : new long[] {1, n, 1, 1};
            default:
                throw new IllegalStateException("Batch normalisation of rank " + rank + " activations");
        }
    }

    /**
     * LocalResponseNormalization (NCHW or NHWC): {@code y_c = x_c (k + alpha S_c)^(-beta)} with {@code S_c} the sum of
     * {@code x_j^2} over the channels {@code |j - c| <= n/2} (integer division) inside the image, as DL4J computes it
     * (alpha is not divided by n). No parameters. The window sum is a convolution of the squares with a constant
     * kernel of ones along the channel axis, so that the graph needs only conv2d's gradient with respect to its input
     * (which passes the finite-difference check) and not the gradient of libnd4j's lrn op.
     */
    static final LayerConverter<LocalResponseNormalization> LOCAL_RESPONSE_NORMALIZATION = (ctx, layer, input) -> {
        if (input.rank() != 4) {
            throw ctx.unsupported("input of rank " + input.rank(), List.of("LocalResponseNormalization on images"));
        }
        SameDiff sd = ctx.sd();
        SDVariable x = input.value();
        boolean nhwc = layer.getDataFormat() == CNN2DFormat.NHWC;
        int half = (int) layer.getN() / 2;
        // The channel axis becomes the height of a one-channel image: NCHW [N, C, H, W] -> [N, 1, C, H*W] and
        // NHWC [N, H, W, C] -> [N*H*W, 1, C, 1], both plain reshapes of 'c'-ordered data.
        SDVariable channels = ctx.dimension(x, nhwc ? 3 : 1);
        SDVariable asImage = nhwc
                ? sd.concat(0, ctx.longVector(-1), ctx.longVector(1), channels, ctx.longVector(1))
                : sd.concat(0, ctx.dimension(x, 0), ctx.longVector(1), channels, ctx.longVector(-1));
        SDVariable squares = sd.reshape(x.mul(x), asImage);
        Conv2DConfig window = Conv2DConfig.builder()
                .kH(2 * half + 1).kW(1).sH(1).sW(1).pH(half).pW(0).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).dataFormat(Conv2DConfig.NCHW).weightsFormat(WeightsFormat.YXIO)
                .build();
        SDVariable ones = sd.constant(Nd4j.ones(ctx.dataType(), 2 * half + 1, 1, 1, 1));
        SDVariable sums = sd.reshape(sd.cnn().conv2d(squares, ones, window), sd.shape(x));
        SDVariable scale = sd.math().pow(sums.mul(layer.getAlpha()).add(layer.getK()), -layer.getBeta());
        return input.with(x.mul(scale));
    };
}
