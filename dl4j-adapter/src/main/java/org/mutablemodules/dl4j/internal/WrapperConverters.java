package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;

/**
 * Converters of layers that wrap another layer, converted recursively (a wrapper inside a wrapper included). The
 * wrapped layer's parameters keep the keys DL4J gives them in the wrapper's parameter table.
 */
final class WrapperConverters {

    private WrapperConverters() {
    }

    /**
     * FrozenLayer and FrozenLayerWithBackprop: the wrapped layer with its parameters' initial values frozen (not
     * trained, as in DL4J); gradients still flow to the layer's input, and to anything a mutation feeds the
     * parameters from.
     */
    static final LayerConverter<FrozenLayer> FROZEN = (ctx, layer, input) ->
            LayerConverters.convert(ctx.wrapped("", true), layer.getLayer(), input);

    static final LayerConverter<FrozenLayerWithBackprop> FROZEN_WITH_BACKPROP = (ctx, layer, input) ->
            LayerConverters.convert(ctx.wrapped("", true), layer.getUnderlying(), input);
}
