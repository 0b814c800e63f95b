package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;

/**
 * Converters of layers that wrap another layer, converted recursively (a wrapper inside a wrapper included). The
 * wrapped layer's parameters keep the keys DL4J gives them in the wrapper's parameter table.
 */
final class WrapperConverters {

    private WrapperConverters() {
    }

    /**
     * FrozenLayer: the wrapped layer with its parameters' initial values frozen (not trained), and, as in DL4J, no
     * gradient passed back to the layer's input, so the layers before it are not trained through it. Anything a
     * mutation feeds the parameters from still gets its gradient. DL4J runs the wrapped layer at inference even while
     * training, so a functional call in training mode does too.
     */
    static final LayerConverter<FrozenLayer> FROZEN = (ctx, layer, input) -> {
        SDVariable stopped = new StopGradient(ctx.sd(), input.value()).outputVariable();
        return LayerConverters.convert(ctx.wrapped("", true).atInference(), layer.getLayer(), input.with(stopped));
    };

    /** FrozenLayerWithBackprop: frozen parameters, but gradients flow on to the layer's input; at inference, too. */
    static final LayerConverter<FrozenLayerWithBackprop> FROZEN_WITH_BACKPROP = (ctx, layer, input) ->
            LayerConverters.convert(ctx.wrapped("", true).atInference(), layer.getUnderlying(), input);
}
