package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ProvenanceUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossL1;
import org.nd4j.linalg.lossfunctions.impl.LossL2;
import org.nd4j.linalg.lossfunctions.impl.LossMAE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;

/**
 * A DL4J network configuration (a {@code MultiLayerConfiguration} or a single-input, single-output
 * {@code ComputationGraphConfiguration}) seen as a Tribuo model body: its JSON, its input and output widths, its
 * output layer, and new networks built from it.
 */
final class NetworkSpec {

    /** The losses the trainers build with example weights (see {@link WeightedLosses}). */
    enum Loss { MCXENT, MSE, L2, MAE, L1 }

    private final String json;
    private final MultiLayerConfiguration layers;
    private final ComputationGraphConfiguration graph;

    private NetworkSpec(String json, MultiLayerConfiguration layers, ComputationGraphConfiguration graph) {
        this.json = json;
        this.layers = layers;
        this.graph = graph;
    }

    static NetworkSpec of(MultiLayerConfiguration conf) {
        Objects.requireNonNull(conf, "conf");
        return parse(conf.toJson());
    }

    static NetworkSpec of(ComputationGraphConfiguration conf) {
        Objects.requireNonNull(conf, "conf");
        return parse(conf.toJson());
    }

    /** Reads DL4J's JSON of either configuration type (a graph's JSON names its {@code networkInputs}). */
    static NetworkSpec parse(String json) {
        Objects.requireNonNull(json, "json");
        if (json.contains("\"networkInputs\"")) {
            ComputationGraphConfiguration graph = ComputationGraphConfiguration.fromJson(json);
            if (graph.getNetworkInputs().size() != 1 || graph.getNetworkOutputs().size() != 1) {
                throw new IllegalArgumentException(Messages.format(Messages.SINGLE_INPUT_OUTPUT,
                        graph.getNetworkInputs(), graph.getNetworkOutputs()));
            }
            return new NetworkSpec(json, null, graph);
        }
        return new NetworkSpec(json, MultiLayerConfiguration.fromJson(json), null);
    }

    String json() {
        return json;
    }

    /** The SHA-256 hash of the configuration's JSON, as hex. */
    String hash() {
        return ProvenanceUtil.hashArray(ProvenanceUtil.HashType.SHA256, json.getBytes(StandardCharsets.UTF_8));
    }

    boolean isGraph() {
        return graph != null;
    }

    MultiLayerConfiguration layers() {
        return layers.clone();
    }

    DataType dataType() {
        return isGraph() ? graph.getDataType() : layers.getDataType();
    }

    /** The number of input columns the network reads. */
    long inputWidth() {
        if (isGraph()) {
            String input = graph.getNetworkInputs().get(0);
            for (Map.Entry<String, List<String>> e : graph.getVertexInputs().entrySet()) {
                if (e.getValue().contains(input)) {
                    return inputWidth(layerOf(graph.getVertices().get(e.getKey())), null, e.getKey());
                }
            }
            throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_INPUT_WIDTH, input));
        }
        return inputWidth(layers.getConf(0).getLayer(), layers.getInputPreProcess(0), "layer 0");
    }

    private static long inputWidth(Layer layer, InputPreProcessor pre, String where) {
        if (pre instanceof FeedForwardToCnnPreProcessor) {
            FeedForwardToCnnPreProcessor p = (FeedForwardToCnnPreProcessor) pre;
            return p.getInputHeight() * p.getInputWidth() * p.getNumChannels();
        }
        if (pre == null && layer instanceof FeedForwardLayer && ((FeedForwardLayer) layer).getNIn() > 0) {
            return ((FeedForwardLayer) layer).getNIn();
        }
        throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_INPUT_WIDTH,
                where + ", " + (layer == null ? "a vertex" : layer.getClass().getSimpleName())));
    }

    /** The output layer: the last layer, or the graph's output vertex. */
    BaseOutputLayer outputLayer() {
        Layer last = isGraph() ? layerOf(graph.getVertices().get(graph.getNetworkOutputs().get(0)))
                : layers.getConf(layers.getConfs().size() - 1).getLayer();
        if (!(last instanceof BaseOutputLayer)) {
            throw new IllegalArgumentException(Messages.format(Messages.NO_OUTPUT_LAYER, outputLayerName()
                    + " (" + (last == null ? "a vertex" : last.getClass().getSimpleName()) + ")"));
        }
        return (BaseOutputLayer) last;
    }

    /** How messages name the output layer: {@code layer 2} or the graph's output vertex. */
    String outputLayerName() {
        return isGraph() ? "\"" + graph.getNetworkOutputs().get(0) + "\""
                : "layer " + (layers.getConfs().size() - 1);
    }

    /** DL4J's network-level parameter key prefix of the output layer: {@code 2_} or {@code out_}. */
    private String outputKeyPrefix() {
        return isGraph() ? graph.getNetworkOutputs().get(0) + "_" : (layers.getConfs().size() - 1) + "_";
    }

    long outputWidth() {
        return outputLayer().getNOut();
    }

    /** The output layer's loss, checked against what the trainers support. */
    Loss loss(OutputKind kind) {
        BaseOutputLayer out = outputLayer();
        ILossFunction fn = out.getLossFn();
        IActivation activation = out.getActivationFn();
        Class<?> c = fn == null ? null : fn.getClass();
        if (kind == OutputKind.LABEL) {
            boolean crossEntropy = c == LossMCXENT.class || c == LossNegativeLogLikelihood.class;
            if (!crossEntropy || !(activation instanceof ActivationSoftmax)) {
                throw new IllegalArgumentException(Messages.format(Messages.CLASSIFICATION_HEAD, outputLayerName(),
                        activation, fn));
            }
            if (((LossMCXENT) fn).getWeights() != null) {
                throw new IllegalArgumentException(Messages.format(Messages.LOSS_WEIGHTS, outputLayerName()));
            }
            return Loss.MCXENT;
        }
        Loss loss;
        INDArray weights;
        if (c == LossMSE.class || c == LossL2.class) {
            loss = c == LossMSE.class ? Loss.MSE : Loss.L2;
            weights = ((LossL2) fn).getWeights();
        } else if (c == LossMAE.class || c == LossL1.class) {
            loss = c == LossMAE.class ? Loss.MAE : Loss.L1;
            weights = ((LossL1) fn).getWeights();
        } else {
            throw new IllegalArgumentException(Messages.format(Messages.REGRESSION_LOSS, outputLayerName(), fn));
        }
        if (weights != null) {
            throw new IllegalArgumentException(Messages.format(Messages.LOSS_WEIGHTS, outputLayerName()));
        }
        return loss;
    }

    /** Throws unless targets can be standardised: the output layer must be a plain linear {@code OutputLayer}. */
    void checkStandardisable() {
        BaseOutputLayer out = outputLayer();
        if (!(out instanceof OutputLayer) || !(out.getActivationFn() instanceof ActivationIdentity)
                || !out.hasBias()) {
            throw new IllegalArgumentException(Messages.format(Messages.STANDARDISE_IDENTITY, outputLayerName(),
                    out.getActivationFn()));
        }
    }

    /** A new network, initialised by DL4J from {@code seed} (every layer's seed is replaced). */
    Model newNetwork(long seed) {
        if (isGraph()) {
            ComputationGraphConfiguration conf = graph.clone();
            conf.getDefaultConfiguration().setSeed(seed);
            for (GraphVertex v : conf.getVertices().values()) {
                if (v instanceof LayerVertex) {
                    ((LayerVertex) v).getLayerConf().setSeed(seed);
                }
            }
            ComputationGraph net = new ComputationGraph(conf);
            net.init();
            return net;
        }
        MultiLayerConfiguration conf = layers.clone();
        for (NeuralNetConfiguration c : conf.getConfs()) {
            c.setSeed(seed);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** A new network holding a copy of {@code parameters} (DL4J's flat parameter vector). */
    Model network(INDArray parameters) {
        if (isGraph()) {
            ComputationGraph net = new ComputationGraph(graph.clone());
            net.init(parameters.reshape(1, parameters.length()).castTo(dataType()), true);
            return net;
        }
        MultiLayerNetwork net = new MultiLayerNetwork(layers.clone());
        net.init(parameters.reshape(1, parameters.length()).castTo(dataType()), true);
        return net;
    }

    /**
     * Makes the output layer of {@code net} predict in the targets' own units: {@code y = z * scale + mean} folded
     * into its weights and bias (valid for the identity activation, see {@link #checkStandardisable()}).
     *
     * @param means  per output column
     * @param scales per output column
     */
    void foldStandardisation(Model net, double[] means, double[] scales) {
        INDArray w = net.getParam(outputKeyPrefix() + "W");
        INDArray b = net.getParam(outputKeyPrefix() + "b");
        for (int j = 0; j < means.length; j++) {
            INDArray column = w.getColumn(j);
            column.muli(scales[j]);
            b.putScalar(j, b.getDouble(j) * scales[j] + means[j]);
        }
    }

    private static Layer layerOf(GraphVertex vertex) {
        return vertex instanceof LayerVertex ? ((LayerVertex) vertex).getLayerConf().getLayer() : null;
    }
}
