package org.mutablemodules.dl4j.internal;

import java.util.List;
import java.util.Map;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * One layer of a {@link FunctionalNetwork} with an explicit backward rule: its forward pass and the gradients of its
 * parameters and input, written with ops whose own gradients SameDiff computes correctly, so that SameDiff can
 * differentiate the rule again (second-order meta-learning). SameDiff's own backward ops ({@code conv2d_bp},
 * {@code maxpool2d_bp}, ...) cannot be differentiated, which is why each layer needs one.
 */
interface ExplicitLayer {

    /**
     * The values one forward pass computed: the layer's input, pre-activation {@code z} and output {@code a}, with
     * the per-example shapes of its input and output where they are known when the graph is built (null otherwise):
     * a rule then builds its backward pass from those sizes instead of reading them from the arrays at run time. Some
     * layers keep more values their backward pass reads in {@code steps}: a recurrent layer's per time step, a
     * convolution's windows, a batch normalisation's standard deviation in training mode (empty for others).
     */
    record Pass(SDVariable input, SDVariable preActivation, SDVariable output, long[] inputShape,
                long[] outputShape, List<SDVariable[]> steps, SDVariable mask) {

        /** A pass of a layer without time steps. */
        Pass(SDVariable input, SDVariable preActivation, SDVariable output, long[] inputShape, long[] outputShape) {
            this(input, preActivation, output, inputShape, outputShape, List.of(), null);
        }

        /** A pass without a mask. */
        Pass(SDVariable input, SDVariable preActivation, SDVariable output, long[] inputShape, long[] outputShape,
             List<SDVariable[]> steps) {
            this(input, preActivation, output, inputShape, outputShape, steps, null);
        }

        /** This pass, computed with the features mask {@code mask} ([N, T]), which its backward rule reads. */
        Pass withMask(SDVariable mask) {
            return new Pass(input, preActivation, output, inputShape, outputShape, steps, mask);
        }
    }

    /** The layers whose rules take DL4J's features masks of series, for messages. */
    String MASKED_RULES = "SimpleRnn, LSTM (also in LastTimeStep), GlobalPoolingLayer over the time axis of NCW "
            + "series, ActivationLayer, DropoutLayer and RnnOutputLayer";

    /** {@return how messages name the layer, {@code Layer 0 (ConvolutionLayer)}} */
    String description();

    /** {@return the network-level keys of the parameters the layer reads (none, by default)} */
    default List<String> parameterKeys() {
        return List.of();
    }

    /**
     * The forward pass, with the parameters' values looked up by network-level key in {@code parameters}.
     *
     * @param inputShape the per-example shape of the input if known (every size), else null
     */
    Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters);

    /**
     * The forward pass over a series with the features mask DL4J gives the layer ({@code mask} [N, T], null for none),
     * computed as DL4J computes it with that mask; the pass keeps the mask for the backward rule. A layer without a
     * masked rule refuses a mask, naming itself and the layers that have one.
     *
     * @param inputShape the per-example shape of the input if known (every size), else null
     * @throws UnsupportedLayerException if a mask is given and the layer has no masked rule
     */
    default Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters, SDVariable mask) {
        if (mask != null) {
            throw new UnsupportedLayerException(description() + " is reached by a features mask, and lossGradients "
                    + "has masked backward rules for " + MASKED_RULES + " only.");
        }
        return forward(input, inputShape, parameters);
    }

    /**
     * The features mask after this layer, given the one that reached it (null for none): passed on unchanged by
     * default, null where the layer ends the series (it pools, or takes the last step, or turns steps into rows).
     */
    default SDVariable maskAfter(SDVariable mask) {
        return mask;
    }

    /**
     * Puts the gradients of this layer's parameters into {@code gradients} (by network-level key) and returns the
     * gradient with respect to the layer's input, or null when {@code needInputGradient} is false.
     *
     * @param outputGradient the gradient with respect to the layer's output {@code a}
     */
    SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                        boolean needInputGradient, Map<String, SDVariable> gradients);
}
