package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import java.util.List;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** Converters of batch normalisation (inference) and global pooling. */
final class NormalizationAndPoolingConverters {

    private NormalizationAndPoolingConverters() {
    }

    /**
     * BatchNormalization at inference: {@code gamma * (x - mean) / sqrt(var + eps) + beta} with the running mean and
     * variance (stored as variance, or as log10 of the standard deviation when {@code useLogStd}). The running
     * statistics become parameters whose initial values are never trained, as in DL4J. ND4J's own batchNorm op is not
     * used: its gradient fails in 1.0.0-M2.1.
     */
    static final LayerConverter<BatchNormalization> BATCH_NORM = (ctx, layer, input) -> {
        SameDiff sd = ctx.sd();
        long n = layer.getNOut();
        long[] broadcast = channelShape(input.rank(), n, layer.getCnn2DFormat() == CNN2DFormat.NHWC);
        SDVariable mean = ctx.statistic("mean").reshape(broadcast);
        SDVariable variance;
        if (layer.isUseLogStd()) {
            // var = (10^log10stdev)^2 = exp(2 ln(10) log10stdev)
            variance = sd.math().exp(ctx.statistic("log10stdev").mul(2 * Math.log(10))).reshape(broadcast);
        } else {
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
        return new Activations(pooled, keep ? input.rank() : input.rank() - axes.length);
    };

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

    /** Not converted yet (being written). */
    static final LayerConverter<LocalResponseNormalization> LOCAL_RESPONSE_NORMALIZATION = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };
}
