package org.mutablemodules.tribuo;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The configuration's loss with example weights: {@code sum_i w_i * loss_i} for weights that sum to 1 over the
 * minibatch, which is DL4J's score (the loss averaged over the minibatch) when every weight is {@code 1/N}.
 * Per-example losses are as DL4J defines them: MCXENT {@code -sum_j y_ij log p_ij}; MSE the mean of squared errors
 * over the outputs, L2 their sum; MAE the mean of absolute errors, L1 their sum. Only full reductions are used (ND4J
 * 1.0.0-M2.1 crashes on reductions along a size-1 axis of a vector).
 */
final class WeightedLosses {

    /** Keeps {@code log} finite when a probability underflows to 0 (DL4J clips its softmax likewise). */
    private static final double LOG_FLOOR = 1e-10;

    private WeightedLosses() {
    }

    /**
     * The weighted loss, a scalar.
     *
     * @param prediction the network's output, {@code [N, outputs]}
     * @param labels     the targets, {@code [N, outputs]}
     * @param weights    the example weights, {@code [N, 1]}, summing to 1
     * @param outputs    the number of output columns
     */
    static SDVariable weighted(SameDiff sd, String name, NetworkSpec.Loss loss, SDVariable prediction,
                               SDVariable labels, SDVariable weights, long outputs) {
        SDVariable perElement;
        double divisor = 1.0;
        switch (loss) {
            case MCXENT:
                perElement = sd.math().log(prediction.add(LOG_FLOOR)).mul(labels).neg();
                break;
            case MSE:
            case L2:
                SDVariable diff = prediction.sub(labels);
                perElement = diff.mul(diff);
                divisor = loss == NetworkSpec.Loss.MSE ? outputs : 1.0;
                break;
            case MAE:
            case L1:
                perElement = sd.math().abs(prediction.sub(labels));
                divisor = loss == NetworkSpec.Loss.MAE ? outputs : 1.0;
                break;
            default:
                throw new IllegalStateException("Unknown loss " + loss);
        }
        SDVariable total = perElement.mul(weights).sum();
        return total.div(name, divisor);
    }

    /**
     * The same weighted loss on the host, for arrays: {@code sum_i w_i loss_i / sum_i w_i}.
     *
     * @param prediction {@code [N, outputs]}
     * @param labels     {@code [N, outputs]}
     * @param weights    {@code [N]}
     */
    static double evaluate(NetworkSpec.Loss loss, INDArray prediction, INDArray labels, INDArray weights) {
        double[][] p = prediction.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] y = labels.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[] w = weights.castTo(DataType.DOUBLE).toDoubleVector();
        double total = 0;
        double weightSum = 0;
        for (int i = 0; i < p.length; i++) {
            double l = 0;
            for (int j = 0; j < p[i].length; j++) {
                double d = p[i][j] - y[i][j];
                switch (loss) {
                    case MCXENT:
                        l -= y[i][j] * Math.log(p[i][j] + LOG_FLOOR);
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
