package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossL1;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMAE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * DL4J loss functions as SameDiff expressions, with DL4J's score: the per-example loss summed over the output
 * features (and time steps), then averaged over the examples of the minibatch.
 */
final class Losses {

    static final List<String> SUPPORTED = List.of("MSE", "L2", "MAE", "L1", "MCXENT", "NEGATIVELOGLIKELIHOOD", "XENT");

    private Losses() {
    }

    /**
     * The network's score.
     *
     * @param output the output layer's activations, [N, n] or [N, n, T]
     * @param labels the labels, of the same shape
     */
    /**
     * The score of a layer whose activations {@code output} are {@code activation(preActivation)}: a softmax scored
     * by multi-class cross-entropy on [N, n] activations becomes one fused op on the logits (mean over the examples of
     * {@code -sum labels * log softmax}, as DL4J's score; computed stably through log-sum-exp), which replaces five
     * ops in every training step. Anything else is {@link #score(ConversionContext, ILossFunction, SDVariable,
     * SDVariable)}.
     */
    static SDVariable score(ConversionContext ctx, ILossFunction fn, IActivation activation, SDVariable preActivation,
                            SDVariable output, SDVariable labels) {
        long[] shape = labels.getShape();
        if (fn instanceof LossMCXENT && activation instanceof ActivationSoftmax && !hasWeights(fn)
                && shape != null && shape.length == 2) {
            return output.getSameDiff().loss().softmaxCrossEntropy(labels, preActivation, null,
                    LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        }
        return score(ctx, fn, output, labels);
    }

    static SDVariable score(ConversionContext ctx, ILossFunction fn, SDVariable output, SDVariable labels) {
        SameDiff sd = output.getSameDiff();
        if (hasWeights(fn)) {
            throw ctx.unsupported("loss function " + fn + " with per-output weights", SUPPORTED);
        }
        SDVariable perElement;
        if (fn instanceof LossL2) {                                   // also LossMSE
            perElement = sd.math().square(labels.sub(output));
        } else if (fn instanceof LossL1) {                            // also LossMAE
            perElement = sd.math().abs(labels.sub(output));
        } else if (fn instanceof LossMCXENT) {                        // also LossNegativeLogLikelihood
            perElement = labels.mul(sd.math().log(output)).neg();
        } else if (fn instanceof LossBinaryXENT) {
            SDVariable positive = labels.mul(sd.math().log(output));
            SDVariable negative = labels.rsub(1.0).mul(sd.math().log(output.rsub(1.0)));
            perElement = positive.add(negative).neg();
        } else {
            throw ctx.unsupported("loss function " + fn, SUPPORTED);
        }
        // DL4J's score sums the loss over the features (and time steps) of each example and averages over the
        // examples; MSE and MAE also divide by the number of outputs (labels.size(1)). Computed from full
        // reductions: ND4J 1.0.0-M2.1 crashes on reductions along a size-1 axis of a vector ([N, 1] summed over
        // axis 1, for a single output), which per-example sums would hit.
        boolean perOutput = fn instanceof LossMSE || fn instanceof LossMAE;
        long[] shape = labels.getShape();
        if (shape != null && shape.length == 2 && shape[1] > 0) {
            // The width is known, so sum / N = mean * width: one or two ops instead of the shape, slice, cast, sum
            // and divide ops that read N at run time; on small networks SameDiff's cost per op dominates a step.
            SDVariable mean = sd.mean(perElement);
            return perOutput ? mean : mean.mul((double) shape[1]);
        }
        SDVariable score = sd.sum(perElement).div(size(ctx, labels, 0));
        if (perOutput) {
            score = score.div(size(ctx, labels, 1));
        }
        return score;
    }

    /** {@code total} divided by the number of examples of {@code like} (its size along axis 0 at run time). */
    static SDVariable averageOverExamples(ConversionContext ctx, SDVariable total, SDVariable like) {
        return total.div(size(ctx, like, 0));
    }

    /** The size of {@code x} along {@code axis} at run time, as a scalar of the output's type. */
    private static SDVariable size(ConversionContext ctx, SDVariable x, int axis) {
        return ctx.sd().sum(ctx.dimension(x, axis).castTo(x.dataType()));
    }

    private static boolean hasWeights(ILossFunction fn) {
        if (fn instanceof LossL2) {
            return ((LossL2) fn).getWeights() != null;
        } else if (fn instanceof LossL1) {
            return ((LossL1) fn).getWeights() != null;
        } else if (fn instanceof LossMCXENT) {
            return ((LossMCXENT) fn).getWeights() != null;
        } else if (fn instanceof LossBinaryXENT) {
            return ((LossBinaryXENT) fn).getWeights() != null;
        }
        return false;
    }
}
