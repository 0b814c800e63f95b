package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.dl4j.internal.NetworkConverter;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A DL4J {@link MultiLayerNetwork} converted into one mutable SameDiff graph: the JVM counterpart of calling
 * {@code to_mutable_module} on a PyTorch model, children included.
 *
 * <pre>{@code
 * MutableNetwork m = MutableNetwork.of(net);        // net is left untouched
 * m.param(0, "W").muli(0.5);                         // DL4J's own parameter keys
 * INDArray y = m.output(x);                          // equals net.output(x) before any mutation
 * MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());   // the mutated values in a plain network
 * }</pre>
 *
 * <p>The graph computes what DL4J computes at inference: dropout (a {@code DropoutLayer} or any layer's dropout) is
 * the identity, batch normalisation uses the running mean and variance. Training the graph with {@code sd.fit}
 * therefore trains without dropout and without updating the running statistics. The loss, when the last layer is an
 * output layer, is DL4J's score without regularisation terms: the per-example loss averaged over the minibatch.
 *
 * <p>Each DL4J parameter becomes a mutable parameter named {@code layer<i>/<key>} in the graph (for example
 * {@code layer0/W}). Parameters DL4J does not train (those of {@code FrozenLayer}s, batch normalisation's running
 * statistics) are mutable too, but their initial values are frozen.
 */
public final class MutableNetwork {

    private final MultiLayerConfiguration configuration;
    private final MutableGraph graph;
    private final ConvertedNetwork converted;

    private MutableNetwork(MultiLayerConfiguration configuration, MutableGraph graph, ConvertedNetwork converted) {
        this.configuration = configuration;
        this.graph = graph;
        this.converted = converted;
    }

    /**
     * Converts {@code net} into a mutable SameDiff graph. {@code net} is only read: its parameters are copied.
     *
     * @param net an initialised network
     * @return the converted network
     * @throws IllegalStateException     if {@code net} was not initialised ({@code net.init()})
     * @throws UnsupportedLayerException if a layer, or an option of a layer, cannot be converted; the message names
     *                                   the layer index, its class and what is supported
     */
    public static MutableNetwork of(MultiLayerNetwork net) {
        return convert(net, -1);
    }

    /**
     * Converts {@code net} for inputs of a fixed number of time steps. Needed for networks with {@code SimpleRnn}
     * layers, which the graph unrolls (SameDiff's loops have no gradient in ND4J 1.0.0-M2.1); other recurrent layers
     * take any length. The input placeholder then requires exactly {@code sequenceLength} steps.
     *
     * @param net            an initialised network
     * @param sequenceLength the number of time steps of every input, at least 1
     * @return the converted network
     * @throws IllegalArgumentException  if {@code sequenceLength} is not positive
     * @throws IllegalStateException     if {@code net} was not initialised
     * @throws UnsupportedLayerException if a layer, or an option of a layer, cannot be converted
     */
    public static MutableNetwork of(MultiLayerNetwork net, int sequenceLength) {
        if (sequenceLength < 1) {
            throw new IllegalArgumentException("sequenceLength must be at least 1, got " + sequenceLength + ".");
        }
        return convert(net, sequenceLength);
    }

    private static MutableNetwork convert(MultiLayerNetwork net, int sequenceLength) {
        Objects.requireNonNull(net, "net");
        if (net.getLayers() == null || net.getLayers().length == 0 || net.params() == null) {
            throw new IllegalStateException("The network has not been initialised: call net.init() before "
                    + "MutableNetwork.of(net).");
        }
        ConvertedNetwork converted = NetworkConverter.convert(net, sequenceLength);
        SameDiff sd = converted.sameDiff();
        MutableGraph graph = MutableGraph.of(sd, converted.parameterVariables().values().toArray(new String[0]));
        for (String key : converted.frozenKeys()) {
            graph.param(converted.parameterVariables().get(key)).freezeInitial();
        }
        return new MutableNetwork(net.getLayerWiseConfigurations().clone(), graph, converted);
    }

    /** The names of the DL4J layer classes that can be converted. */
    public static List<String> supportedLayers() {
        return NetworkConverter.supportedLayers();
    }

    /** The mutable graph; {@code graph().sameDiff()} is where a hypernetwork is added. */
    public MutableGraph graph() {
        return graph;
    }

    /** The name of the input placeholder. */
    public String inputName() {
        return converted.inputName();
    }

    /** The name of the output activations (the last layer's output). */
    public String outputName() {
        return converted.outputName();
    }

    /** True when the network ends in an output layer, so the graph has labels and a loss. */
    public boolean hasLoss() {
        return converted.lossName() != null;
    }

    /**
     * The name of the labels placeholder.
     *
     * @throws IllegalStateException if the network has no output layer
     */
    public String labelName() {
        requireLoss();
        return converted.labelName();
    }

    /**
     * The name of the scalar score (DL4J's loss averaged over the minibatch, without regularisation), which is
     * also the graph's loss variable.
     *
     * @throws IllegalStateException if the network has no output layer
     */
    public String lossName() {
        requireLoss();
        return converted.lossName();
    }

    /** DL4J's network-level parameter keys ({@code 0_W}, {@code 0_b}, ...), in layer order. */
    public List<String> parameterKeys() {
        return Collections.unmodifiableList(new ArrayList<>(converted.parameterVariables().keySet()));
    }

    /**
     * The mutable parameter of layer {@code layer} with DL4J's key {@code key} ({@code W}, {@code b}, {@code RW},
     * {@code gamma}, ...; a wrapped layer's keys as DL4J's wrapper names them).
     *
     * @throws IllegalArgumentException if the layer has no such parameter; the message lists the layer's keys
     */
    public MutableParameter param(int layer, String key) {
        return param(layer + "_" + key);
    }

    /**
     * The mutable parameter with DL4J's network-level key, as in {@code net.paramTable()} ({@code 0_W}).
     *
     * @throws IllegalArgumentException if there is no such parameter; the message lists the known keys
     */
    public MutableParameter param(String networkKey) {
        String variable = converted.parameterVariables().get(networkKey);
        if (variable == null) {
            throw new IllegalArgumentException("No parameter with key \"" + networkKey + "\" exists in this network. "
                    + "Known keys: " + converted.parameterVariables().keySet() + ".");
        }
        return graph.param(variable);
    }

    /**
     * The network's output for {@code input}, computed by the graph (with the current, possibly mutated, parameters).
     * Before any mutation it equals {@code net.output(input)}.
     *
     * @param input the features, shaped as DL4J expects them
     * @throws IllegalArgumentException if a parameter's value needs other placeholders (use
     *                                  {@link #output(INDArray, Map)})
     */
    public INDArray output(INDArray input) {
        return output(input, Map.of());
    }

    /**
     * The network's output for {@code input}, with values for any other placeholders the mutated parameters read
     * (a hypernetwork's task descriptor, for example).
     */
    public INDArray output(INDArray input, Map<String, INDArray> otherPlaceholders) {
        Map<String, INDArray> feed = new HashMap<>(otherPlaceholders);
        feed.put(inputName(), networkInput(input));
        requirePlaceholders(feed, outputName());
        return graph.sameDiff().output(feed, outputName()).get(outputName());
    }

    /**
     * The score for {@code input} and {@code labels}: DL4J's loss averaged over the minibatch (without
     * regularisation terms).
     *
     * @throws IllegalStateException if the network has no output layer
     */
    public double score(INDArray input, INDArray labels) {
        requireLoss();
        Map<String, INDArray> feed = Map.of(inputName(), networkInput(input), labelName(), labels);
        return graph.sameDiff().output(feed, lossName()).get(lossName()).getDouble(0);
    }

    /**
     * The gradients of the score with respect to each parameter's current value, keyed by DL4J's network-level keys,
     * for the parameters that affect the score. They are DL4J's {@code computeGradientAndScore()} gradients divided by
     * the minibatch size: DL4J reports gradients summed over the examples and divides them in its updater, while these
     * are the gradients of the (averaged) score itself.
     *
     * @throws IllegalStateException if the network has no output layer
     */
    public Map<String, INDArray> gradients(INDArray input, INDArray labels) {
        requireLoss();
        Map<String, INDArray> feed = Map.of(inputName(), networkInput(input), labelName(), labels);
        List<String> variables = new ArrayList<>(converted.parameterVariables().values());
        Map<String, INDArray> byVariable = graph.sameDiff().calculateGradients(feed, variables);
        Map<String, INDArray> byKey = new LinkedHashMap<>();
        converted.parameterVariables().forEach((key, variable) -> {
            INDArray g = byVariable.get(variable);
            if (g != null) {
                byKey.put(key, g);
            }
        });
        return byKey;
    }

    /**
     * A new plain network, with this network's configuration, whose parameters are the current values of the
     * mutable parameters: the way to serve weights that a hypernetwork produced with plain DL4J.
     *
     * @param placeholders values for the placeholders the parameters' values read (none if no parameter was fed from
     *                     a placeholder)
     * @return a new, initialised network; the source network and the graph are unchanged
     * @throws IllegalArgumentException if a placeholder needed by a parameter's value is missing
     */
    public MultiLayerNetwork toMultiLayerNetwork(Map<String, INDArray> placeholders) {
        Objects.requireNonNull(placeholders, "placeholders");
        String[] variables = converted.parameterVariables().values().toArray(new String[0]);
        requirePlaceholders(placeholders, variables);
        Map<String, INDArray> values = graph.sameDiff().output(new HashMap<>(placeholders), variables);
        MultiLayerNetwork baked = new MultiLayerNetwork(configuration.clone());
        baked.init();
        converted.parameterVariables().forEach((key, variable) -> {
            INDArray target = baked.getParam(key);
            INDArray value = values.get(variable);
            if (!Arrays.equals(target.shape(), value.shape())) {
                throw new IllegalStateException("Parameter " + key + " has shape "
                        + Arrays.toString(value.shape()) + " in the graph but "
                        + Arrays.toString(target.shape()) + " in the network.");
            }
            target.assign(value.castTo(target.dataType()));
        });
        return baked;
    }

    @Override
    public String toString() {
        return "MutableNetwork" + converted.parameterVariables().keySet();
    }

    private void requireLoss() {
        if (!hasLoss()) {
            throw new IllegalStateException("The network has no output layer, so it has no labels and no loss.");
        }
    }

    private void requirePlaceholders(Map<String, INDArray> given, String... variables) {
        Set<String> missing = new TreeSet<>(graph.requiredPlaceholders(variables));
        missing.removeAll(given.keySet());
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("Values are needed for the placeholders " + missing
                    + ": the current parameter values are computed from them.");
        }
    }

    /** DL4J accepts [N, 1, T] indices for an embedding sequence; the graph takes [N, T]. */
    private INDArray networkInput(INDArray input) {
        long[] expected = graph.sameDiff().getVariable(inputName()).placeholderShape();
        if (expected != null && expected.length == 2 && input.rank() == 3 && input.size(1) == 1) {
            return input.reshape(input.size(0), input.size(2));
        }
        return input;
    }
}
