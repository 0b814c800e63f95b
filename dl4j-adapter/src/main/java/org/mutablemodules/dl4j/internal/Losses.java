package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
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
     * The score of a layer whose activations {@code output} are {@code activation(preActivation)}, all with the
     * features on axis 1 ([N, n], [N, n, T] or [N, C, H, W]). A softmax scored by multi-class cross-entropy is
     * computed as DL4J computes it: the score from the probabilities clipped to {@code [eps, 1 - eps]}
     * ({@code softmaxClipEps}, so that it stays finite), the gradient that of the unclipped cross-entropy
     * ({@code softmax - labels} for labels summing to 1, which DL4J backpropagates whatever the clipping), given to
     * the logits by a term of value 0 ({@link #crossEntropyGradient}; on more axes on the rows of every position).
     * Anything else is {@link #score(ConversionContext, ILossFunction, SDVariable, SDVariable)}.
     *
     * @throws UnsupportedLayerException for binary cross-entropy on a softmax, which DL4J scores as {@code -sum y log p}
     *                                   but backpropagates as binary cross-entropy (no single function to convert)
     */
    static SDVariable score(ConversionContext ctx, ILossFunction fn, IActivation activation, SDVariable preActivation,
                            SDVariable output, SDVariable labels) {
        if (!(activation instanceof ActivationSoftmax) || hasWeights(fn)) {
            return score(ctx, fn, output, labels);
        }
        if (fn instanceof LossBinaryXENT) {
            throw ctx.unsupported("loss function XENT with a softmax activation (DL4J scores it as multi-class "
                    + "cross-entropy but backpropagates binary cross-entropy)", SUPPORTED);
        }
        if (!(fn instanceof LossMCXENT)) {
            return score(ctx, fn, output, labels);
        }
        SameDiff sd = output.getSameDiff();
        long[] shape = labels.getShape();
        int rank = shape == null ? 2 : shape.length;
        // The gradient of the clipped score is DL4J's unclipped (softmax - labels), averaged over the examples as the
        // score is (ConversionContext.defineLoss multiplies both by N for miniBatch(false): a sum then).
        SDVariable perExample = size(ctx, labels, 0).rdiv(1.0);
        SDVariable gradient = rank == 2 ? crossEntropyGradient(preActivation, output, labels, perExample)
                : crossEntropyGradient(rows(ctx, preActivation, rank), rows(ctx, output, rank), rows(ctx, labels, rank),
                        perExample);
        return stopGradient(sd, reduce(ctx, fn, clippedCrossEntropy(fn, output, labels), labels)).add(gradient);
    }

    /**
     * DL4J's score of a softmax over the rows of time-series outputs ([N * T, n] logits, probabilities and labels,
     * one row per example and time step): the clipped cross-entropy summed over the rows and divided by the number
     * of examples {@code examples}, its gradient {@code (softmax - labels) / N}. Weighted or other
     * losses and activations are {@link #score(ConversionContext, ILossFunction, SDVariable, SDVariable)}, on the rows.
     */
    static SDVariable scoreOfRows(ConversionContext ctx, ILossFunction fn, IActivation activation, SDVariable logits,
                                  SDVariable probabilities, SDVariable labels, SDVariable examples) {
        SameDiff sd = ctx.sd();
        if (!(activation instanceof ActivationSoftmax) || !(fn instanceof LossMCXENT) || hasWeights(fn)) {
            return null;
        }
        SDVariable perExample = examples.rdiv(1.0);
        // Averaged as the score is (ConversionContext.defineLoss multiplies both by N for miniBatch(false)).
        SDVariable gradient = crossEntropyGradient(logits, probabilities, labels, perExample);
        SDVariable clipped = sd.sum(clippedCrossEntropy(fn, probabilities, labels)).mul(perExample);
        return stopGradient(sd, clipped).add(gradient);
    }

    /** {@code -labels log p}, p the probabilities clipped as DL4J clips them ({@code softmaxClipEps}). */
    private static SDVariable clippedCrossEntropy(ILossFunction fn, SDVariable probabilities, SDVariable labels) {
        SameDiff sd = probabilities.getSameDiff();
        double eps = ((LossMCXENT) fn).getSoftmaxClipEps();
        // Clipped before the log, as DL4J clips (finite even where a probability is 0); without clipping, DL4J's.
        SDVariable p = eps > 0 ? sd.math().clipByValue(probabilities, eps, 1.0 - eps) : probabilities;
        return labels.mul(sd.math().log(p)).neg();
    }

    /**
     * A term of value 0 whose gradient with respect to {@code logits} ([R, n] rows) is the gradient of softmax
     * cross-entropy, {@code probabilities * sum(labels) - labels} (DL4J's {@code softmax - labels} where the labels
     * of a row sum to 1) times the row weights ({@code weights}: a scalar, one per row [R, 1], or null for 1), scaled
     * by whatever gradient reaches the term. ND4J's fused loss op ({@code softmaxCrossEntropy}) gives
     * that gradient only to a graph whose final loss it is: it ignores the gradient reaching it, so a score averaged
     * over tasks or weighted by the caller got its gradient unscaled. No second derivative flows through the term
     * (the probabilities' dependence on the logits is stopped); the explicit rules of {@code lossGradients} give
     * second derivatives.
     */
    private static SDVariable crossEntropyGradient(SDVariable logits, SDVariable probabilities, SDVariable labels,
                                                   SDVariable weights) {
        SameDiff sd = logits.getSameDiff();
        SDVariable delta = stopGradient(sd, probabilities.mul(Reductions.sum(labels, 2, true, 1)).sub(labels));
        SDVariable linear = sd.sum(weights == null ? delta.mul(logits) : delta.mul(weights).mul(logits));
        return linear.sub(stopGradient(sd, linear));
    }

    /** [N, n, ...] as rows [N * ..., n]: axis 1 moved last, then the others flattened. */
    private static SDVariable rows(ConversionContext ctx, SDVariable x, int rank) {
        SameDiff sd = ctx.sd();
        int[] order = new int[rank];
        for (int i = 1; i < rank - 1; i++) {
            order[i] = i + 1;
        }
        order[rank - 1] = 1;
        return sd.reshape(sd.permute(x, order), sd.concat(0, ctx.longVector(-1), ctx.dimension(x, 1)));
    }

    /** {@code x} with a zero gradient. */
    private static SDVariable stopGradient(SameDiff sd, SDVariable x) {
        return new StopGradient(sd, x).outputVariable();
    }

    static SDVariable score(ConversionContext ctx, ILossFunction fn, SDVariable output, SDVariable labels) {
        return reduce(ctx, fn, perElement(fn, output, labels, what -> ctx.unsupported(what, SUPPORTED)), labels);
    }

    /**
     * {@code sum_i w_i loss_i}: DL4J's loss of each example (summed over the outputs; MSE and MAE their mean) weighted
     * by {@code weights} ([N, 1]), for code that weights examples itself; with every weight {@code 1/N} it is DL4J's
     * score. A softmax scored by multi-class cross-entropy is computed as {@link #score(ConversionContext,
     * ILossFunction, IActivation, SDVariable, SDVariable, SDVariable)} computes it (the clipped value, DL4J's
     * gradient {@code softmax - labels} on {@code preActivation}).
     *
     * @param labels [N, n]
     * @param width  n
     */
    static SDVariable weightedScore(ILossFunction fn, IActivation activation, SDVariable preActivation,
                                    SDVariable output, SDVariable labels, SDVariable weights, long width,
                                    Function<String, ? extends RuntimeException> refuse) {
        return weightedScore(fn, activation, preActivation, output, labels, weights, total -> total.div((double) width),
                refuse);
    }

    /**
     * The same for labels whose width {@code n} is known only at run time, as the scalar {@code width}.
     */
    static SDVariable weightedScore(ILossFunction fn, IActivation activation, SDVariable preActivation,
                                    SDVariable output, SDVariable labels, SDVariable weights, SDVariable width,
                                    Function<String, ? extends RuntimeException> refuse) {
        return weightedScore(fn, activation, preActivation, output, labels, weights, total -> total.div(width),
                refuse);
    }

    /** {@code perOutputMean} divides a total by the number of outputs (MSE and MAE average over them). */
    private static SDVariable weightedScore(ILossFunction fn, IActivation activation, SDVariable preActivation,
                                            SDVariable output, SDVariable labels, SDVariable weights,
                                            UnaryOperator<SDVariable> perOutputMean,
                                            Function<String, ? extends RuntimeException> refuse) {
        SameDiff sd = output.getSameDiff();
        if (activation instanceof ActivationSoftmax && fn instanceof LossBinaryXENT) {
            throw refuse.apply("loss function XENT with a softmax activation (DL4J scores it as multi-class "
                    + "cross-entropy but backpropagates binary cross-entropy)");
        }
        if (activation instanceof ActivationSoftmax && fn instanceof LossMCXENT && !hasWeights(fn)) {
            SDVariable clipped = sd.sum(clippedCrossEntropy(fn, output, labels).mul(weights));
            return stopGradient(sd, clipped).add(crossEntropyGradient(preActivation, output, labels, weights));
        }
        SDVariable total = sd.sum(perElement(fn, output, labels, refuse).mul(weights));
        boolean perOutput = fn instanceof LossMSE || fn instanceof LossMAE;
        return perOutput ? perOutputMean.apply(total) : total;
    }

    /** DL4J's loss of every element of {@code output} against {@code labels}. */
    private static SDVariable perElement(ILossFunction fn, SDVariable output, SDVariable labels,
                                         Function<String, ? extends RuntimeException> refuse) {
        SameDiff sd = output.getSameDiff();
        if (hasWeights(fn)) {
            throw refuse.apply("loss function " + fn + " with per-output weights");
        }
        SDVariable perElement;
        if (fn instanceof LossL2) {                                   // also LossMSE
            perElement = sd.math().square(labels.sub(output));
        } else if (fn instanceof LossL1) {                            // also LossMAE
            perElement = sd.math().abs(labels.sub(output));
        } else if (fn instanceof LossMCXENT) {                        // also LossNegativeLogLikelihood
            perElement = labels.mul(sd.math().log(output)).neg();
        } else if (fn instanceof LossBinaryXENT) {
            double eps = ((LossBinaryXENT) fn).getClipEps();
            SDVariable p = output;
            if (eps > 0) {
                // DL4J clips the probabilities to [eps, 1 - eps] and differentiates as if it had not (its dL/dp
                // at the clipped value times dp/dz): the clipping is added through a stopped gradient.
                p = output.add(stopGradient(sd, sd.math().clipByValue(output, eps, 1.0 - eps).sub(output)));
            }
            SDVariable positive = labels.mul(sd.math().log(p));
            SDVariable negative = labels.rsub(1.0).mul(sd.math().log(p.rsub(1.0)));
            perElement = positive.add(negative).neg();
        } else {
            throw refuse.apply("loss function " + fn);
        }
        return perElement;
    }

    /**
     * DL4J's score from the loss of every element: summed over the features (and time steps) of each example and
     * averaged over the examples; MSE and MAE also divide by the number of outputs (labels.size(1)).
     */
    private static SDVariable reduce(ConversionContext ctx, ILossFunction fn, SDVariable perElement, SDVariable labels) {
        SameDiff sd = perElement.getSameDiff();
        // Computed from full reductions: ND4J 1.0.0-M2.1 crashes on reductions along a size-1 axis of a vector
        // ([N, 1] summed over axis 1, for a single output), which per-example sums would hit.
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
