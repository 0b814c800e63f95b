package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * A loss function of [N, n] outputs with an explicit gradient, at the converter's score convention ({@link Losses}):
 * the loss summed over the features of each example (MSE also divides by n), averaged over the minibatch, or summed
 * over it for a layer configured with {@code miniBatch(false)}.
 */
final class DifferentiableLoss {

    static final List<String> SUPPORTED = List.of("MSE", "L2", "MCXENT", "NEGATIVELOGLIKELIHOOD (no weights)");

    private final boolean crossEntropy;
    private final boolean perOutput;
    private final boolean averaged;
    private final long width;

    private DifferentiableLoss(boolean crossEntropy, boolean perOutput, boolean averaged, long width) {
        this.crossEntropy = crossEntropy;
        this.perOutput = perOutput;
        this.averaged = averaged;
        this.width = width;
    }

    /**
     * The rule for {@code fn}, or null if it has none.
     *
     * @param averaged false for a layer configured with {@code miniBatch(false)}, whose score sums over examples
     * @param width    n, the number of outputs
     */
    static DifferentiableLoss of(ILossFunction fn, boolean averaged, long width) {
        if (fn instanceof LossL2 && ((LossL2) fn).getWeights() == null) {                 // also LossMSE
            return new DifferentiableLoss(false, fn instanceof LossMSE, averaged, width);
        } else if (fn instanceof LossMCXENT && ((LossMCXENT) fn).getWeights() == null) {
            // Also LossNegativeLogLikelihood. DL4J's softmax clipping is left out, as in the converted score.
            return new DifferentiableLoss(true, false, averaged, width);
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
        SDVariable examples = sd.sum(sd.slice(sd.shape(labels).castTo(DataType.INT64), new int[] {0}, 1)
                .castTo(type));
        return examples.rdiv(perFeature);
    }

    /** The score of {@code output} against {@code labels}, given {@link #scale}. */
    SDVariable score(SDVariable output, SDVariable labels, SDVariable scale) {
        SameDiff sd = output.getSameDiff();
        SDVariable perElement = crossEntropy ? labels.mul(sd.math().log(output)).neg()
                : sd.math().square(labels.sub(output));
        return sd.sum(perElement).mul(scale);
    }

    /** {@code dScore/dOutput}, [N, n]. */
    SDVariable gradient(SDVariable output, SDVariable labels, SDVariable scale) {
        SDVariable perElement = crossEntropy ? labels.div(output).neg() : output.sub(labels).mul(2.0);
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
