package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * DL4J's activation functions and losses as SameDiff expressions for code outside a conversion that computes layers
 * itself (the Tribuo adapter's per-example hypernetwork layers and example-weighted losses): the conversion's own
 * functions, so that their numerics are DL4J's (ELU's alpha, the softmax cross-entropy's clipping and gradient).
 * Not public API: it may change with the converters.
 */
public final class LayerFunctions {

    private LayerFunctions() {
    }

    /**
     * {@code fn(x)} for [N, n] pre-activations, as DL4J computes it.
     *
     * @param where names the layer for the message, such as "layer 1"
     * @param fn the DL4J function
     * @param x the pre-activations, [N, n]
     * @return {@code fn(x)} for [N, n] pre-activations, as DL4J computes it
     * @throws IllegalArgumentException if the activation, or an option of it, cannot be expressed; the message names
     *                                  {@code where}, the activation and the supported ones
     */
    public static SDVariable activation(IActivation fn, SDVariable x, String where) {
        return ActivationFunctions.apply(fn, x, 1, what -> refused(where, what, ActivationFunctions.SUPPORTED));
    }

    /**
     * Checks that {@link #activation} can express {@code fn}, without touching any graph of the caller's.
     *
     * @param fn the DL4J function
     * @param where what to name in the message if the function is refused (the layer)
     * @throws IllegalArgumentException as {@link #activation}
     */
    public static void checkActivation(IActivation fn, String where) {
        SameDiff scratch = SameDiff.create();
        activation(fn, scratch.placeHolder("x", DataType.DOUBLE, -1, 2), where);
    }

    /**
     * {@code sum_i w_i loss_i}: DL4J's loss {@code fn} of each example of {@code output} ({@code activation} of
     * {@code preActivation}, [N, n]) against {@code labels} ([N, n], n known), weighted by {@code weights} ([N, 1]).
     * With weights {@code 1/N} its value and gradient are DL4J's score's: for a softmax with multi-class
     * cross-entropy the value from probabilities clipped to DL4J's {@code softmaxClipEps} and the gradient DL4J's
     * unclipped {@code softmax - labels} (then this must be the graph's final loss, unscaled).
     *
     * @param preActivation the output layer's pre-activations; may be null unless the activation is a softmax
     * @param where         names the layer for the message
     * @param activation the activation function
     * @param fn the DL4J function
     * @param labels the labels
     * @param output the output
     * @param weights the examples' weights, [N, 1]
     * @return {@code sum_i w_i loss_i}: DL4J's loss {@code fn} of each example of {@code output} ({@code activation} of
     *     {@code preActivation}, [N, n]) against {@code labels} ([N, n], n known), weighted by {@code weights} ([N, 1])
     * @throws IllegalArgumentException if the loss (or its combination with the activation) cannot be expressed
     */
    public static SDVariable weightedLoss(ILossFunction fn, IActivation activation, SDVariable preActivation,
                                          SDVariable output, SDVariable labels, SDVariable weights, String where) {
        return Losses.weightedScore(fn, activation, preActivation, output, labels, weights, labels.getShape()[1],
                what -> refused(where, what, Losses.SUPPORTED));
    }

    /**
     * The input of the softmax op that computes {@code output}, or null if a softmax does not compute it.
     *
     * @param output the output
     * @return the input of the softmax op that computes {@code output}, or null if a softmax does not compute it
     */
    public static SDVariable softmaxInput(SDVariable output) {
        DifferentialFunction op = output.getSameDiff().getVariableOutputOp(output.name());
        return op instanceof SoftMax ? op.arg() : null;
    }

    private static IllegalArgumentException refused(String where, String what, List<String> supported) {
        return new IllegalArgumentException(where + " uses " + what + ", which is not supported here. Supported: "
                + String.join(", ", supported) + ".");
    }
}
