package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.graph.GraphVertex;

/**
 * Defines one DL4J graph vertex type in a SameDiff graph, at inference semantics.
 *
 * @param <V> the DL4J configuration class of the vertex
 */
interface VertexConverter<V extends GraphVertex> {

    /**
     * Adds the vertex's computation to {@code ctx}'s graph.
     *
     * @param ctx    the graph, the vertex's parameters and where to record a loss
     * @param vertex the vertex's configuration
     * @param inputs the activations of the vertex's inputs, in DL4J's order
     * @return the vertex's output activations
     */
    LayerOutput convert(ConversionContext ctx, V vertex, List<LayerOutput> inputs);
}
