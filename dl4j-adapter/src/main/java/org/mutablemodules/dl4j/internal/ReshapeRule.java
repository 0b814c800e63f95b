package org.mutablemodules.dl4j.internal;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * An input pre-processor that only reshapes ({@code CnnToFeedForwardPreProcessor},
 * {@code FeedForwardToCnnPreProcessor}: DL4J flattens in 'c' order whatever the data format), as a layer of a {@link FunctionalNetwork}: its gradient is
 * the output's, reshaped back to the input's shape.
 *
 * @param description how messages name it
 * @param shape       the per-example shape of its output
 */
record ReshapeRule(String description, long[] shape) implements ExplicitLayer {

    @Override
    public Pass forward(SDVariable input, long[] inputShape, Map<String, SDVariable> parameters) {
        long[] full = new long[shape.length + 1];
        full[0] = -1;
        System.arraycopy(shape, 0, full, 1, shape.length);
        SDVariable y = input.reshape(full);
        return new Pass(input, y, y, inputShape, shape);
    }

    @Override
    public SDVariable backward(Pass pass, SDVariable outputGradient, Map<String, SDVariable> parameters,
                               boolean needInputGradient, Map<String, SDVariable> gradients) {
        if (!needInputGradient) {
            return null;
        }
        if (pass.inputShape() != null) {
            long[] full = new long[pass.inputShape().length + 1];
            full[0] = -1;
            System.arraycopy(pass.inputShape(), 0, full, 1, full.length - 1);
            return outputGradient.reshape(full);
        }
        return outputGradient.getSameDiff().reshape(outputGradient, pass.input().getSameDiff().shape(pass.input()));
    }
}
