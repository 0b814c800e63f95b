package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A DL4J network seen as a DAG of graph vertices in topological order, which is what the converter walks. A
 * {@code ComputationGraph} is one already; a {@code MultiLayerNetwork} is the chain {@code input -> layer0 -> layer1
 * -> ...} of layer vertices, each carrying its input pre-processor, so that both kinds go through one conversion.
 */
final class NetworkDag {

    /**
     * One vertex.
     *
     * @param name        the vertex name in the network (a {@code MultiLayerNetwork}'s layer {@code i} is
     *                    {@code layer<i>})
     * @param keyPrefix   the prefix of its parameters' network-level keys ({@code 0_}, {@code conv1_})
     * @param layerIndex  the layer index in a {@code MultiLayerNetwork}, or -1 in a {@code ComputationGraph}
     * @param vertex      its configuration (a {@link LayerVertex} for every layer)
     * @param inputs      the names of the vertices or network inputs it reads, in order
     * @param paramTable  DL4J's parameter table of its layer (empty for parameterless vertices)
     */
    record Node(String name, String keyPrefix, int layerIndex, GraphVertex vertex, List<String> inputs,
                Map<String, INDArray> paramTable) {

        /** How messages name this vertex: {@code Layer 3 (DenseLayer)} or {@code Vertex "conv1" (LayerVertex)}. */
        String describe(Object configuration) {
            String type = configuration.getClass().getSimpleName();
            if (layerIndex >= 0) {
                return "Layer " + layerIndex + " (" + type + ")";
            }
            return "Vertex \"" + name + "\" (" + type + ")";
        }
    }

    private final List<String> inputs;
    private final List<String> outputs;
    private final List<Node> nodes;
    private final DataType dataType;
    private final boolean chain;

    private NetworkDag(List<String> inputs, List<String> outputs, List<Node> nodes, DataType dataType, boolean chain) {
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        this.nodes = Collections.unmodifiableList(nodes);
        this.dataType = dataType;
        this.chain = chain;
    }

    /** The chain of a {@code MultiLayerNetwork}; its one input is called {@code input}. */
    static NetworkDag of(MultiLayerNetwork net) {
        return chain(net.getLayerWiseConfigurations(), i -> net.getLayer(i).paramTable());
    }

    /** The vertices of a {@code ComputationGraph}, in DL4J's own topological order. */
    static NetworkDag of(ComputationGraph net) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        List<String> inputs = new ArrayList<>(conf.getNetworkInputs());
        List<Node> nodes = new ArrayList<>();
        org.deeplearning4j.nn.graph.vertex.GraphVertex[] vertices = net.getVertices();
        for (int index : net.topologicalSortOrder()) {
            String name = vertices[index].getVertexName();
            if (inputs.contains(name)) {
                continue;
            }
            GraphVertex vertex = conf.getVertices().get(name);
            Map<String, INDArray> params = vertices[index].paramTable(false);
            nodes.add(new Node(name, name + "_", -1, vertex, List.copyOf(conf.getVertexInputs().get(name)), params));
        }
        return new NetworkDag(inputs, new ArrayList<>(conf.getNetworkOutputs()), nodes, conf.getDataType(), false);
    }

    /**
     * The chain of a {@code MultiLayerNetwork} read from its configuration alone, with empty parameter tables: for
     * applying the converters again with parameters given as graph expressions ({@link NetworkConversion#replaying}).
     */
    static NetworkDag of(MultiLayerConfiguration conf) {
        return chain(conf, i -> Map.of());
    }

    private static NetworkDag chain(MultiLayerConfiguration conf, IntFunction<Map<String, INDArray>> paramTables) {
        List<Node> nodes = new ArrayList<>();
        String previous = NetworkConversion.INPUT;
        int n = conf.getConfs().size();
        for (int i = 0; i < n; i++) {
            LayerVertex vertex = new LayerVertex(conf.getConf(i), conf.getInputPreProcess(i));
            String name = "layer" + i;
            nodes.add(new Node(name, i + "_", i, vertex, List.of(previous), paramTables.apply(i)));
            previous = name;
        }
        return new NetworkDag(List.of(NetworkConversion.INPUT), List.of(previous), nodes, conf.getDataType(), true);
    }

    /**
     * The vertices of a {@code ComputationGraph} read from its configuration alone, each after the vertices it reads
     * (in the configuration's order where that allows), with empty parameter tables; see
     * {@link #of(MultiLayerConfiguration)}.
     */
    static NetworkDag of(ComputationGraphConfiguration conf) {
        List<String> inputs = new ArrayList<>(conf.getNetworkInputs());
        Set<String> placed = new HashSet<>(inputs);
        List<Node> nodes = new ArrayList<>();
        List<String> pending = new ArrayList<>(conf.getVertices().keySet());
        while (!pending.isEmpty()) {
            boolean progress = false;
            for (Iterator<String> it = pending.iterator(); it.hasNext();) {
                String name = it.next();
                List<String> reads = conf.getVertexInputs().get(name);
                if (placed.containsAll(reads)) {
                    nodes.add(new Node(name, name + "_", -1, conf.getVertices().get(name), List.copyOf(reads),
                            Map.of()));
                    placed.add(name);
                    it.remove();
                    progress = true;
                }
            }
            if (!progress) {
                throw new IllegalStateException("The graph configuration has a cycle or a missing input among "
                        + pending + ".");
            }
        }
        return new NetworkDag(inputs, new ArrayList<>(conf.getNetworkOutputs()), nodes, conf.getDataType(), false);
    }

    /** The network inputs' names, in DL4J's order. */
    List<String> inputs() {
        return inputs;
    }

    /** The names of the vertices whose activations are the network's outputs, in DL4J's order. */
    List<String> outputs() {
        return outputs;
    }

    /** Every vertex but the inputs, each after the vertices it reads. */
    List<Node> nodes() {
        return nodes;
    }

    DataType dataType() {
        return dataType;
    }

    /** True for a {@code MultiLayerNetwork}. */
    boolean isChain() {
        return chain;
    }

    /** The vertices that read {@code name} directly. */
    List<Node> consumersOf(String name) {
        List<Node> out = new ArrayList<>();
        for (Node node : nodes) {
            if (node.inputs().contains(name)) {
                out.add(node);
            }
        }
        return out;
    }
}
