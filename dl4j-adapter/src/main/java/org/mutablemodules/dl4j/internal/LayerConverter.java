package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * Defines one DL4J layer type in a SameDiff graph, at inference semantics (no dropout, running statistics).
 *
 * @param <L> the DL4J configuration class of the layer
 */
interface LayerConverter<L extends Layer> {

    /**
     * Adds the layer's computation to {@code ctx}'s graph.
     *
     * @param ctx   the graph, the layer's parameters and where to record a loss
     * @param layer the layer's configuration
     * @param input the layer's input activations
     * @return the layer's output activations
     */
    LayerOutput convert(ConversionContext ctx, L layer, LayerOutput input);
}
