package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossL1;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMAE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * A loss function of [N, n] outputs with an explicit gradient, at the converter's score convention ({@link Losses}):
 * the loss summed over the features of each example (MSE also divides by n), averaged over the minibatch, or summed
 * over it for a layer configured with {@code miniBatch(false)}.
 */
final class DifferentiableLoss {

    static final List<String> SUPPORTED = List.of("MSE", "L2", "MAE", "L1", "MCXENT", "NEGATIVELOGLIKELIHOOD",
            "XENT (no weights)");

    /** The element-wise loss. */
    private enum Kind { SQUARED, ABSOLUTE, CROSS_ENTROPY, BINARY_CROSS_ENTROPY }

    private final Kind kind;
    private final boolean crossEntropy;
    private final boolean perOutput;
    private final boolean averaged;
    private final long width;
    /** XENT's clipping of the probabilities, {@code [eps, 1 - eps]} (0: none). */
    private final double clipEps;

    private DifferentiableLoss(Kind kind, boolean perOutput, boolean averaged, long width, double clipEps) {
        this.kind = kind;
        this.crossEntropy = kind == Kind.CROSS_ENTROPY;
        this.perOutput = perOutput;
        this.averaged = averaged;
        this.width = width;
        this.clipEps = clipEps;
    }

    /**
     * The rule for {@code fn}, or null if it has none.
     *
     * @param averaged false for a layer configured with {@code miniBatch(false)}, whose score sums over examples
     * @param width    n, the number of outputs
     */
    static DifferentiableLoss of(ILossFunction fn, boolean averaged, long width) {
        if (fn instanceof LossL2 && ((LossL2) fn).getWeights() == null) {                 // also LossMSE
            return new DifferentiableLoss(Kind.SQUARED, fn instanceof LossMSE, averaged, width, 0);
        } else if (fn instanceof LossL1 && ((LossL1) fn).getWeights() == null) {          // also LossMAE
            return new DifferentiableLoss(Kind.ABSOLUTE, fn instanceof LossMAE, averaged, width, 0);
        } else if (fn instanceof LossMCXENT && ((LossMCXENT) fn).getWeights() == null) {
            // Also LossNegativeLogLikelihood. DL4J's softmax clipping is left out, as in the converted score.
            return new DifferentiableLoss(Kind.CROSS_ENTROPY, false, averaged, width, 0);
        } else if (fn instanceof LossBinaryXENT && ((LossBinaryXENT) fn).getWeights() == null) {
            return new DifferentiableLoss(Kind.BINARY_CROSS_ENTROPY, false, averaged, width,
                    ((LossBinaryXENT) fn).getClipEps());
        }
        return null;
    }

    /**
     * The factor that turns a sum over every element into the score: 1 / N (and 1 / n for MSE), N read from the
     * labels at run time.
     */
    SDVariable scale(SDVariable labels) {
        SameDiff sd = labels.getSameDiff();
        DataType type = labels.dataType();
        double perFeature = perOutput ? 1.0 / width : 1.0;
        if (!averaged) {
            return sd.constant(Nd4j.scalar(type, perFeature));
        }
        return sd.sizeAt(labels, 0).castTo(type).rdiv(perFeature);
    }

    /**
     * {@code dScore/dOutput}, [N, n]: {@code 2 (a - y)} (L2, MSE), {@code sign(a - y)} (L1, MAE; 0 where they are
     * equal, as DL4J), {@code -y / a} (cross-entropy), {@code -(y / p - (1 - y) / (1 - p))} (XENT, p the output clipped
     * to {@code [eps, 1 - eps]} as DL4J clips it, its derivative taken as the output's, as DL4J differentiates it),
     * times {@link #scale}.
     */
    SDVariable gradient(SDVariable output, SDVariable labels, SDVariable scale) {
        SameDiff sd = output.getSameDiff();
        SDVariable perElement = switch (kind) {
            case SQUARED -> output.sub(labels).mul(2.0);
            case ABSOLUTE -> sd.math().sign(output.sub(labels));
            case CROSS_ENTROPY -> labels.div(output).neg();
            case BINARY_CROSS_ENTROPY -> {
                SDVariable p = clipEps > 0 ? output.add(new StopGradient(sd,
                        sd.math().clipByValue(output, clipEps, 1.0 - clipEps).sub(output)).outputVariable()) : output;
                yield labels.div(p).sub(labels.rsub(1.0).div(p.rsub(1.0))).neg();
            }
        };
        return perElement.mul(scale);
    }

    /**
     * True when the gradient with respect to the pre-activations of a softmax output has the fused form
     * {@link #softmaxGradient}: for cross-entropy, which divides by the output.
     */
    boolean fusesWithSoftmax() {
        return crossEntropy;
    }

    /**
     * {@code dScore/dz} for {@code output = softmax(z)} and cross-entropy: {@code (a * sum_j y_j - y) * scale}, free
     * of the division by small probabilities of the unfused chain.
     */
    SDVariable softmaxGradient(SDVariable output, SDVariable labels, SDVariable scale) {
        return output.mul(DifferentiableActivation.rowSums(labels, width)).sub(labels).mul(scale);
    }
}
