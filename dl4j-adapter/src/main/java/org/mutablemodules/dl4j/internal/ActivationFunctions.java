package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.function.Function;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationCube;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/** DL4J activation functions as SameDiff expressions. */
final class ActivationFunctions {

    static final List<String> SUPPORTED = List.of("identity", "relu (default options)", "relu6", "leakyrelu", "elu",
            "selu", "sigmoid", "hardsigmoid", "tanh", "hardtanh", "softmax", "softplus", "softsign", "cube", "swish");

    private ActivationFunctions() {
    }

    /**
     * Applies {@code fn} to {@code x}.
     *
     * @param softmaxAxis the axis softmax normalises over. DL4J's softmax normalises over the last axis of the array
     *                    it is given: the features for [N, n] and for the rows loss layers reshape to, but the last
     *                    axis of the layout (width for NCHW, time for NCW) where a layer applies its activation to
     *                    its rank-3 or rank-4 output (convolutions, ActivationLayer, EmbeddingSequenceLayer)
     */
    static SDVariable apply(ConversionContext ctx, IActivation fn, SDVariable x, int softmaxAxis) {
        return apply(fn, x, softmaxAxis, what -> ctx.unsupported(what, SUPPORTED));
    }

    /**
     * Applies {@code fn} to {@code x}, outside a conversion; {@code refuse} makes the exception for an activation
     * (or an option of one) that cannot be expressed, from what it is ("activation Foo").
     */
    static SDVariable apply(IActivation fn, SDVariable x, int softmaxAxis,
                            Function<String, ? extends RuntimeException> refuse) {
        SameDiff sd = x.getSameDiff();
        if (fn == null || fn instanceof ActivationIdentity) {
            return x;
        } else if (fn instanceof ActivationReLU) {
            ActivationReLU relu = (ActivationReLU) fn;
            if (isZeroOrNull(relu.getMax()) && isZeroOrNull(relu.getThreshold()) && isZeroOrNull(relu.getNegativeSlope())) {
                return sd.nn().relu(x, 0.0);
            }
            throw refuse.apply("ReLU with max, threshold or negative slope set");
        } else if (fn instanceof ActivationReLU6) {
            return sd.nn().relu6(x, 0.0);
        } else if (fn instanceof ActivationLReLU) {
            return sd.nn().leakyRelu(x, ((ActivationLReLU) fn).getAlpha());
        } else if (fn instanceof ActivationELU) {
            double alpha = ((ActivationELU) fn).getAlpha();
            // elu(x) = max(x, 0) + alpha * (exp(min(x, 0)) - 1), composed so that any alpha is exact.
            SDVariable negative = sd.nn().relu(x.neg(), 0.0).neg();
            return sd.nn().relu(x, 0.0).add(sd.math().exp(negative).sub(1.0).mul(alpha));
        } else if (fn instanceof ActivationSELU) {
            return sd.nn().selu(x);
        } else if (fn instanceof ActivationSigmoid) {
            return sd.nn().sigmoid(x);
        } else if (fn instanceof ActivationHardSigmoid) {
            return sd.nn().hardSigmoid(x);
        } else if (fn instanceof ActivationTanH) {
            return sd.math().tanh(x);
        } else if (fn instanceof ActivationHardTanH) {
            return sd.nn().hardTanh(x);
        } else if (fn instanceof ActivationSoftmax) {
            return sd.nn().softmax(x, softmaxAxis);
        } else if (fn instanceof ActivationSoftPlus) {
            return sd.nn().softplus(x);
        } else if (fn instanceof ActivationSoftSign) {
            return sd.nn().softsign(x);
        } else if (fn instanceof ActivationCube) {
            return sd.math().cube(x);
        } else if (fn instanceof ActivationSwish) {
            return sd.nn().swish(x);
        }
        throw refuse.apply("activation " + fn);
    }

    private static boolean isZeroOrNull(Double d) {
        return d == null || d == 0.0;
    }
}
