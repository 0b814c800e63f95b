package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/**
 * An activation function of [N, n] activations with an explicit backward rule: the forward expression (the one the
 * converter emits) and the vector-Jacobian product {@code dL/dz} from {@code dL/da}, built from element-wise ops,
 * comparisons (zero gradient) and sums, so that SameDiff can differentiate the backward rule again.
 */
abstract class DifferentiableActivation {

    static final List<String> SUPPORTED = List.of("identity", "relu (default options)", "leakyrelu", "tanh", "sigmoid",
            "softmax");

    /** {@code a = f(z)}. */
    abstract SDVariable forward(SDVariable z);

    /**
     * {@code dL/dz}, given {@code z}, {@code a = f(z)} and {@code dL/da} (all [N, n]).
     *
     * @param width n, the number of features
     */
    abstract SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width);

    /** True for softmax, whose Jacobian couples the features of an example. */
    boolean isSoftmax() {
        return false;
    }

    /**
     * The rule for {@code fn}, or null if it has none.
     *
     * @param fn DL4J's activation; null stands for the identity
     */
    static DifferentiableActivation of(IActivation fn) {
        if (fn == null || fn instanceof ActivationIdentity) {
            return IDENTITY;
        } else if (fn instanceof ActivationReLU) {
            ActivationReLU relu = (ActivationReLU) fn;
            return isZeroOrNull(relu.getMax()) && isZeroOrNull(relu.getThreshold())
                    && isZeroOrNull(relu.getNegativeSlope()) ? new LeakyRelu(0.0) : null;
        } else if (fn instanceof ActivationLReLU) {
            return new LeakyRelu(((ActivationLReLU) fn).getAlpha());
        } else if (fn instanceof ActivationTanH) {
            return TANH;
        } else if (fn instanceof ActivationSigmoid) {
            return SIGMOID;
        } else if (fn instanceof ActivationSoftmax) {
            return SOFTMAX;
        }
        return null;
    }

    /** The sums of each row of {@code x} [N, n], as [N, 1]. */
    static SDVariable rowSums(SDVariable x, long width) {
        // a width-1 row is its own sum (and ND4J cannot reduce a size-1 axis of a rank-2 array: see Reductions)
        return width == 1 ? x : x.getSameDiff().sum(x, true, 1);
    }

    private static boolean isZeroOrNull(Double d) {
        return d == null || d == 0.0;
    }

    private static final DifferentiableActivation IDENTITY = new DifferentiableActivation() {
        @Override
        SDVariable forward(SDVariable z) {
            return z;
        }

        @Override
        SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width) {
            return gradA;
        }
    };

    /** {@code max(z, 0) + alpha * min(z, 0)}; its derivative is 1 for z > 0 and alpha elsewhere. */
    private static final class LeakyRelu extends DifferentiableActivation {
        private final double alpha;

        LeakyRelu(double alpha) {
            this.alpha = alpha;
        }

        @Override
        SDVariable forward(SDVariable z) {
            SameDiff sd = z.getSameDiff();
            return alpha == 0.0 ? sd.nn().relu(z, 0.0) : sd.nn().leakyRelu(z, alpha);
        }

        @Override
        SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width) {
            // The mask comes from a comparison, whose gradient is zero: the derivative is piecewise constant.
            SDVariable positive = z.gt(0.0).castTo(z.dataType());
            // The leakyrelu op holds alpha as a float: the slope below is the one the forward op applies.
            double applied = (float) alpha;
            SDVariable slope = alpha == 0.0 ? positive : positive.mul(1.0 - applied).add(applied);
            return gradA.mul(slope);
        }
    }

    private static final DifferentiableActivation TANH = new DifferentiableActivation() {
        @Override
        SDVariable forward(SDVariable z) {
            return z.getSameDiff().math().tanh(z);
        }

        @Override
        SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width) {
            return gradA.mul(a.mul(a).rsub(1.0));                   // 1 - tanh^2
        }
    };

    private static final DifferentiableActivation SIGMOID = new DifferentiableActivation() {
        @Override
        SDVariable forward(SDVariable z) {
            return z.getSameDiff().nn().sigmoid(z);
        }

        @Override
        SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width) {
            return gradA.mul(a.mul(a.rsub(1.0)));                   // s (1 - s)
        }
    };

    /** Softmax over the features (axis 1): {@code dz = a * (g - sum_j g_j a_j)}. */
    private static final DifferentiableActivation SOFTMAX = new DifferentiableActivation() {
        @Override
        SDVariable forward(SDVariable z) {
            return z.getSameDiff().nn().softmax(z, 1);
        }

        @Override
        SDVariable backward(SDVariable z, SDVariable a, SDVariable gradA, long width) {
            return a.mul(gradA.sub(rowSums(gradA.mul(a), width)));
        }

        @Override
        boolean isSoftmax() {
            return true;
        }
    };
}
