package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@code BatchNormalization} layer of a {@link FunctionalNetwork}: {@code y = gamma (x - mean) / sqrt(var + eps) +
 * beta}. At inference, as the converted network computes it, with the running statistics (the variance stored as
 * such, or as {@code log10} of the standard deviation); its backward rule, with {@code s = sqrt(var + eps)} and
 * {@code xhat = (x - mean) / s}, sums over every axis but the channels':
 * <pre>
 * dL/dx = dL/dy gamma / s
 * dL/dgamma = sum(dL/dy xhat)        dL/dbeta = sum(dL/dy)
 * dL/dmean = -sum(dL/dy) gamma / s   dL/dvar = -sum(dL/dy xhat) gamma / (2 s^2)
 * </pre>
 * (the running statistics get their true gradients, as {@code MutableNetwork.gradients} reports them; for a
 * {@code log10} standard deviation {@code dL/dlog10std = dL/dvar var 2 ln 10}). In training mode
 * ({@code batchStatistics}), mean and var are the batch's (the biased variance, as DL4J), over the M positions of each
 * channel, and the input's gradient goes through them too:
 * <pre>
 * g = dL/dy gamma
 * dL/dx = (g - mean(g) - xhat mean(g xhat)) / s       (means over the M positions of each channel)
 * dL/dgamma, dL/dbeta as above; the running statistics, not read, get zero gradients
 * </pre>
 *
 * @param description how messages name the layer
 * @param keyPrefix   the prefix of its parameter keys
 * @param rank        the rank of its input (2, 3 or 4)
 * @param channelAxis the axis of the channels (features)
 * @param eps         DL4J's epsilon
 * @param logStd      true when the variance is stored as {@code log10} of the standard deviation
 * @param lockedGamma gamma when locked (no gamma and beta parameters), else NaN
 * @param lockedBeta  beta when locked
 * @param batchStatistics true in training mode: the batch's mean and variance, not the running statistics
 * @param shapes      the parameters' shapes by key, or null before they are known
 */
record BatchNormRule(String description, String keyPrefix, int rank, int channelAxis, double eps, boolean logStd,
                     double lockedGamma, double lockedBeta, boolean batchStatistics, Map<String, long[]> shapes)
        implements ExplicitLayer {

    private String statisticKey() {
        return keyPrefix + (logStd ? "log10stdev" : "var");
    }

    private boolean locked() {
        return !Double.isNaN(lockedGamma);
    }

    @Override
    public List<String> parameterKeys() {
        List<String> keys = new ArrayList<>();         // DL4J's order
        keys.add(keyPrefix + "mean");
        keys.add(statisticKey());
        if (!locked()) {
            keys.add(keyPrefix + "gamma");
            keys.add(keyPrefix + "beta");
        }
        return keys;
    }

    BatchNormRule withShapes(Map<String, long[]> resolved) {
        return new BatchNormRule(description, keyPrefix, rank, channelAxis, eps, logStd, lockedGamma, lockedBeta,
                batchStatistics, resolved);
    }

    /** [1, n, 1, 1] and the like: a channel vector broadcast along the other axes. */
    private SDVariable broadcast(SDVariable v) {
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        shape[channelAxis] = -1;
        return v.reshape(shape);
    }

    private int[] otherAxes() {
        int[] axes = new int[rank - 1];
        for (int a = 0, i = 0; a < rank; a++) {
            if (a != channelAxis) {
                axes[i++] = a;
            }
        }
        return axes;
    }

    private SDVariable variance(SameDiff sd, Map<String, SDVariable> parameters) {
        SDVariable stored = parameters.get(statisticKey());
        return broadcast(logStd ? sd.math().exp(stored.mul(2 * Math.log(10))) : stored);
    }

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SameDiff sd = input.getSameDiff();
        SDVariable normalised;
        List<SDVariable[]> kept = List.of();
        if (batchStatistics) {
            SDVariable centred = input.sub(Reductions.mean(input, rank, true, otherAxes()));
            SDVariable deviation = sd.math().sqrt(Reductions.mean(centred.mul(centred), rank, true, otherAxes())
                    .add(eps));
            normalised = centred.div(deviation);
            kept = List.<SDVariable[]>of(new SDVariable[] {deviation});
        } else {
            normalised = input.sub(broadcast(parameters.get(keyPrefix + "mean")))
                    .div(sd.math().sqrt(variance(sd, parameters).add(eps)));
        }
        SDVariable y = locked() ? normalised.mul(lockedGamma).add(lockedBeta)
                : normalised.mul(broadcast(parameters.get(keyPrefix + "gamma")))
                        .add(broadcast(parameters.get(keyPrefix + "beta")));
        // the pre-activation slot holds xhat, which the backward rule reads (in training mode also s)
        return new Pass(input, normalised, y, inputShape, inputShape, kept);
    }

    /** The backward rule in training mode: the batch's statistics depend on the input. */
    private SDVariable batchBackward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                                     boolean needInputGradient, Map<String, SDVariable> gradients) {
        int[] axes = otherAxes();
        SDVariable xhat = pass.preActivation();
        if (!locked()) {
            put(gradients, keyPrefix + "gamma", Reductions.sum(outputGradient.mul(xhat), rank, false, axes));
            put(gradients, keyPrefix + "beta", Reductions.sum(outputGradient, rank, false, axes));
        }
        SameDiff sd = outputGradient.getSameDiff();
        for (String key : List.of(keyPrefix + "mean", statisticKey())) {
            put(gradients, key, sd.zerosLike(parameters.get(key)));
        }
        if (!needInputGradient) {
            return null;
        }
        SDVariable g = locked() ? outputGradient.mul(lockedGamma)
                : outputGradient.mul(broadcast(parameters.get(keyPrefix + "gamma")));
        SDVariable deviation = pass.steps().get(0)[0];
        return g.sub(Reductions.mean(g, rank, true, axes))
                .sub(xhat.mul(Reductions.mean(g.mul(xhat), rank, true, axes))).div(deviation);
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (batchStatistics) {
            return batchBackward(pass, outputGradient, parameters, needInputGradient, gradients);
        }
        SameDiff sd = outputGradient.getSameDiff();
        int[] axes = otherAxes();
        SDVariable variance = variance(sd, parameters);
        SDVariable deviation = sd.math().sqrt(variance.add(eps));
        SDVariable gamma = locked() ? null : broadcast(parameters.get(keyPrefix + "gamma"));
        SDVariable scaled = gamma == null ? outputGradient.mul(lockedGamma) : outputGradient.mul(gamma);
        SDVariable xhat = pass.preActivation();
        if (!locked()) {
            put(gradients, keyPrefix + "gamma", Reductions.sum(outputGradient.mul(xhat), rank, false, axes));
            put(gradients, keyPrefix + "beta", Reductions.sum(outputGradient, rank, false, axes));
        }
        SDVariable dx = scaled.div(deviation);
        put(gradients, keyPrefix + "mean", Reductions.sum(dx, rank, false, axes).neg());
        SDVariable dVariance = Reductions.sum(scaled.mul(xhat).div(variance.add(eps)), rank, false, axes).mul(-0.5);
        if (logStd) {
            // var = exp(2 ln(10) log10std): dvar/dlog10std = var 2 ln 10
            dVariance = dVariance.mul(sd.math().exp(parameters.get(statisticKey()).mul(2 * Math.log(10)))
                    .reshape(-1)).mul(2 * Math.log(10));
        }
        put(gradients, statisticKey(), dVariance);
        return needInputGradient ? dx : null;
    }

    private void put(Map<String, SDVariable> gradients, String key, SDVariable gradient) {
        gradients.put(key, gradient.reshape(shapes.get(key)));
    }
}
