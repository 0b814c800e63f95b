package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * One feed-forward layer of a {@link FunctionalNetwork} on [N, n] activations, {@code a = f(x W + b)} (or
 * {@code a = f(x)} for a layer without parameters), with its explicit backward rule:
 * <pre>
 * dz = f'(z) dL/da                  (DifferentiableActivation.backward)
 * dL/dW = x^T dz                    [nIn, nOut]
 * dL/db = sum over examples of dz   [1, nOut] or [nOut], as b
 * dL/dx = dz W^T                    [N, nIn]
 * </pre>
 * Every op here has a gradient that passes the finite-difference check, so SameDiff can differentiate the rule.
 *
 * @param description how messages name the layer ({@code Layer 0 (DenseLayer)})
 * @param keyPrefix   the prefix of its network-level parameter keys ({@code 0_})
 * @param affine      true when the layer has a weight matrix W ({@code DenseLayer}, {@code OutputLayer})
 * @param hasBias     true when it also has a bias b
 * @param biasRank    the rank of b: 1 ([nOut]) or 2 ([1, nOut])
 * @param activation  its activation function
 * @param width       its number of outputs (nOut), or -1 when unknown
 * @param loss        the loss of an output layer, null for the others
 */
record FunctionalLayer(String description, String keyPrefix, boolean affine, boolean hasBias, int biasRank,
                       DifferentiableActivation activation, long width, DifferentiableLoss loss)
        implements ExplicitLayer {

    @Override
    public List<String> parameterKeys() {
        return !affine ? List.of() : hasBias ? List.of(weightKey(), biasKey()) : List.of(weightKey());
    }

    String weightKey() {
        return keyPrefix + "W";
    }

    String biasKey() {
        return keyPrefix + "b";
    }

    /** {@code f(x W + b)}, with the parameters' values looked up by network-level key in {@code parameters}. */
    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        SDVariable z = input;
        if (affine) {
            z = input.mmul(parameters.get(weightKey()));
            if (hasBias) {
                z = z.add(parameters.get(biasKey()));
            }
        }
        long[] out = !affine ? inputShape : width >= 0 ? new long[] {width} : null;
        return new Pass(input, z, activation.forward(z), inputShape, out);
    }

    /** A layer without parameters (an activation, dropout at inference) acts on each step alike: the mask passes. */
    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters, SDVariable mask) {
        return affine ? ExplicitLayer.super.forward(input, inputShape, parameters, mask)
                : forward(input, inputShape, parameters).withMask(mask);
    }

    /**
     * The gradient with respect to the pre-activation, {@code dz}, from the gradient with respect to the output.
     */
    SDVariable preActivationGradient(Pass pass, SDVariable outputGradient) {
        return activation.backward(pass.preActivation(), pass.output(), outputGradient, width);
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        return backwardFromPreActivation(pass, preActivationGradient(pass, outputGradient), parameters,
                needInputGradient, gradients);
    }

    /**
     * As {@link #backward}, from the gradient with respect to the pre-activation: an output layer's loss gives it
     * directly (softmax and cross-entropy fused).
     *
     * @param dz the gradient with respect to the pre-activation ({@link #preActivationGradient})
     */
    SDVariable backwardFromPreActivation(Pass pass, SDVariable dz, Map<String, SDVariable> parameters,
                                         boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (!affine) {
            return needInputGradient ? dz : null;
        }
        SDVariable w = parameters.get(weightKey());
        gradients.put(weightKey(), pass.input().getSameDiff().mmul(pass.input(), dz, true, false, false));
        if (hasBias) {
            gradients.put(biasKey(), Reductions.sum(dz, 2, biasRank == 2, 0));   // one example: [1, n]
        }
        return needInputGradient ? dz.getSameDiff().mmul(dz, w, false, true, false) : null;
    }
}
