package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
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
     * @param rank   the rank of both (2 or 3)
     */
    static SDVariable score(ConversionContext ctx, ILossFunction fn, SDVariable output, SDVariable labels, int rank) {
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
        // MSE and MAE average over the output features (DL4J divides by labels.size(1)); the others sum.
        boolean averageFeatures = fn instanceof LossMSE || fn instanceof LossMAE;
        SDVariable perExample = averageFeatures ? sd.mean(perElement, 1) : sd.sum(perElement, 1);
        if (rank == 3) {
            perExample = sd.sum(perExample, 1);     // time steps are summed, as DL4J scores [N*T, n] rows
        }
        return sd.mean(perExample);                 // averaged over the minibatch
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
