package org.mutablemodules.tribuo;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * The configuration's loss of a model's predictions, with example weights, computed on the host for
 * {@code Model.loss(dataset)}: {@code sum_i w_i loss_i / sum_i w_i}, which is DL4J's score when every weight is 1.
 * Per-example losses are as DL4J defines them: MCXENT {@code -sum_j y_ij log p_ij} (p clipped as DL4J clips it); MSE
 * the mean of squared errors over the outputs, L2 their sum; MAE the mean of absolute errors, L1 their sum. Training
 * builds the same loss in the graph with the DL4J adapter's own loss functions ({@code LayerFunctions}).
 */
final class WeightedLosses {

    private WeightedLosses() {
    }

    /**
     * The weighted loss of arrays: {@code sum_i w_i loss_i / sum_i w_i}. MCXENT clips the probabilities to
     * {@code [eps, 1 - eps]} first, {@code eps} the loss function's {@code softmaxClipEps}, as DL4J's score does
     * (and the training loss, {@code LayerFunctions.weightedLoss}).
     *
     * @param network    the network whose output layer's loss this is
     * @param kind       the kind of output (which the loss was checked against)
     * @param prediction {@code [N, outputs]}
     * @param labels     {@code [N, outputs]}
     * @param weights    {@code [N]}
     */
    static double evaluate(NetworkSpec network, OutputKind kind, INDArray prediction, INDArray labels,
                           INDArray weights) {
        NetworkSpec.Loss loss = network.loss(kind);
        double clipEps = network.outputLayer().getLossFn() instanceof LossMCXENT mcxent ? mcxent.getSoftmaxClipEps() : 0;
        double[][] p = Tensors.rows(prediction);
        double[][] y = Tensors.rows(labels);
        double[] w = weights.castTo(DataType.DOUBLE).toDoubleVector();
        double total = 0;
        double weightSum = 0;
        for (int i = 0; i < p.length; i++) {
            double l = 0;
            for (int j = 0; j < p[i].length; j++) {
                double d = p[i][j] - y[i][j];
                switch (loss) {
                    case MCXENT:
                        l -= y[i][j] * Math.log(clipEps > 0 ? Math.min(Math.max(p[i][j], clipEps), 1.0 - clipEps) : p[i][j]);
                        break;
                    case MSE:
                    case L2:
                        l += d * d;
                        break;
                    default:
                        l += Math.abs(d);
                        break;
                }
            }
            if (loss == NetworkSpec.Loss.MSE || loss == NetworkSpec.Loss.MAE) {
                l /= p[i].length;
            }
            total += w[i] * l;
            weightSum += w[i];
        }
        return total / weightSum;
    }
}
