package org.mutablemodules.tribuo;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/** DL4J activations as SameDiff ops, for the layers the hypernetwork model computes itself. */
final class ActivationOps {

    private ActivationOps() {
    }

    /** Throws unless {@link #apply} supports {@code activation}; {@code where} names its layer in the message. */
    static void check(IActivation activation, String where) {
        if (!(activation instanceof ActivationIdentity || activation instanceof ActivationTanH
                || activation instanceof ActivationSigmoid || activation instanceof ActivationSoftmax
                || activation instanceof ActivationSoftPlus || activation instanceof ActivationLReLU
                || (activation instanceof ActivationELU && ((ActivationELU) activation).getAlpha() == 1.0)
                || (activation instanceof ActivationReLU && plainRelu((ActivationReLU) activation)))) {
            throw new IllegalArgumentException(Messages.format(Messages.UNSUPPORTED_ACTIVATION, activation, where));
        }
    }

    private static boolean plainRelu(ActivationReLU relu) {
        return relu.getMax() == null && relu.getThreshold() == null && relu.getNegativeSlope() == null;
    }

    /** {@code activation(z)} for a {@code [N, n]} pre-activation, as DL4J computes it. */
    static SDVariable apply(SameDiff sd, IActivation activation, SDVariable z) {
        if (activation instanceof ActivationIdentity) {
            return z;
        } else if (activation instanceof ActivationTanH) {
            return sd.math().tanh(z);
        } else if (activation instanceof ActivationSigmoid) {
            return sd.nn().sigmoid(z);
        } else if (activation instanceof ActivationSoftmax) {
            return sd.nn().softmax(z, 1);
        } else if (activation instanceof ActivationSoftPlus) {
            return sd.nn().softplus(z);
        } else if (activation instanceof ActivationLReLU) {
            return sd.nn().leakyRelu(z, ((ActivationLReLU) activation).getAlpha());
        } else if (activation instanceof ActivationELU) {
            return sd.nn().elu(z);
        } else if (activation instanceof ActivationReLU) {
            return sd.nn().relu(z, 0.0);
        }
        throw new IllegalArgumentException(Messages.format(Messages.UNSUPPORTED_ACTIVATION, activation, "a layer"));
    }
}
