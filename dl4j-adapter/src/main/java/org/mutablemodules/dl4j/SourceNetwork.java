package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.io.IOException;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.dl4j.internal.FunctionalNetwork;
import org.mutablemodules.samediff.MutableGraph;

/**
 * The kind of DL4J network a {@link MutableNetwork} was converted from, with a private copy of its configuration: what
 * baking builds, what the functional call replays and what a saved file records.
 */
sealed interface SourceNetwork {

    /** The kind's name in a saved file. */
    String kind();

    /** The configuration as DL4J's JSON. */
    String toJson();

    /** A new, initialised DL4J network of this configuration, with its own copy of it. */
    Model newNetwork();

    /** The functional view of the converted network, replaying its converters on this configuration. */
    FunctionalNetwork functional(ConvertedNetwork converted, MutableGraph graph);

    /** A {@code MultiLayerNetwork}'s configuration. */
    record LayerStack(MultiLayerConfiguration configuration) implements SourceNetwork {

        static final String KIND = "MultiLayerNetwork";

        /** Keeps a copy of {@code configuration}, by DL4J's {@code clone()}, which keeps users' own layers. */
        static LayerStack copyOf(MultiLayerConfiguration configuration) {
            return new LayerStack(configuration.clone());
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public String toJson() {
            return configuration.toJson();
        }

        @Override
        public MultiLayerNetwork newNetwork() {
            MultiLayerNetwork net = new MultiLayerNetwork(configuration.clone());
            net.init();
            return net;
        }

        @Override
        public FunctionalNetwork functional(ConvertedNetwork converted, MutableGraph graph) {
            return FunctionalNetwork.of(configuration, converted, graph);
        }
    }

    /** A {@code ComputationGraph}'s configuration. */
    record VertexGraph(ComputationGraphConfiguration configuration) implements SourceNetwork {

        static final String KIND = "ComputationGraph";

        /**
         * Keeps a copy of {@code configuration} by DL4J's {@code clone()}, with its reshape and merge vertices copied
         * whole: DL4J 1.0.0-M2.1's {@code ReshapeVertex.clone()} drops the reshape order and the mask shape, so a
         * baked or replayed 'f'-order reshape would compute a 'c'-order one, and {@code MergeVertex.clone()} drops the
         * merge axis, so a baked or replayed merge of NWC series (axis 2) would merge along their time axis. (DL4J's
         * JSON keeps them but loses the fields of users' own layers that Jackson cannot see.)
         */
        static VertexGraph copyOf(ComputationGraphConfiguration configuration) {
            return new VertexGraph(copy(configuration));
        }

        private static ComputationGraphConfiguration copy(ComputationGraphConfiguration conf) {
            ComputationGraphConfiguration copy = conf.clone();
            conf.getVertices().forEach((name, vertex) -> {
                GraphVertex inner = vertex instanceof FrozenVertex f ? f.getUnderlying() : vertex;
                if (inner instanceof ReshapeVertex || inner instanceof MergeVertex) {
                    GraphVertex whole = wholeCopy(inner);
                    copy.getVertices().put(name, vertex instanceof FrozenVertex ? new FrozenVertex(whole) : whole);
                }
            });
            // A lambda vertex's clone() is a new instance without the network's data type, which its getter of
            // vertex parameters needs (DL4J's JSON calls it): without it, writing the configuration fails.
            copy.getVertices().values().forEach(vertex -> {
                GraphVertex inner = vertex instanceof FrozenVertex f ? f.getUnderlying() : vertex;
                if (inner instanceof SameDiffLambdaVertex lambda) {
                    lambda.setDataType(conf.getDataType());
                }
            });
            return copy;
        }

        private static GraphVertex wholeCopy(GraphVertex vertex) {
            if (vertex instanceof MergeVertex m) {
                MergeVertex copy = new MergeVertex();
                copy.setMergeAxis(m.getMergeAxis());
                return copy;
            }
            ReshapeVertex r = (ReshapeVertex) vertex;
            return new ReshapeVertex(r.getReshapeOrder(), r.getNewShape().clone(),
                    r.getMaskShape() == null ? null : r.getMaskShape().clone());
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public String toJson() {
            return configuration.toJson();
        }

        @Override
        public ComputationGraph newNetwork() {
            ComputationGraph net = new ComputationGraph(copy(configuration));
            net.init();
            return net;
        }

        @Override
        public FunctionalNetwork functional(ConvertedNetwork converted, MutableGraph graph) {
            return FunctionalNetwork.of(configuration, converted, graph);
        }
    }

    /** The source network a saved file describes, by its kind and its configuration's JSON. */
    static SourceNetwork fromJson(String kind, String json) throws IOException {
        try {
            if (LayerStack.KIND.equals(kind)) {
                return new LayerStack(MultiLayerConfiguration.fromJson(json));
            }
            if (VertexGraph.KIND.equals(kind)) {
                return new VertexGraph(ComputationGraphConfiguration.fromJson(json));
            }
        } catch (RuntimeException e) {
            throw new IOException(format(NetworkMessages.UNREADABLE_CONFIGURATION, e.getMessage()), e);
        }
        throw new IOException(format(NetworkMessages.DAMAGED_FILE, "unknown kind \"" + kind + "\"."));
    }
}
