package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.util.ComputationGraphUtil;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.dl4j.internal.NetworkConverter;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.MutableParameter;
import org.mutablemodules.samediff.internal.Archive;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.evaluation.IEvaluation;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.regression.RegressionEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.adapter.MultiDataSetIteratorAdapter;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A DL4J {@link MultiLayerNetwork} or {@link ComputationGraph} converted into one mutable SameDiff graph: the JVM
 * counterpart of calling {@code to_mutable_module} on a PyTorch model, children included.
 *
 * <pre>{@code
 * MutableNetwork m = MutableNetwork.of(net);        // net is left untouched
 * m.param(0, "W").muli(0.5);                         // DL4J's own parameter keys
 * INDArray y = m.output(x);                          // equals net.output(x) before any mutation
 * MultiLayerNetwork baked = m.toMultiLayerNetwork(Map.of());   // the mutated values in a plain network
 * }</pre>
 *
 * <p><b>Names in the graph.</b> A {@code MultiLayerNetwork} becomes a graph with the placeholders {@code input} and
 * {@code labels}, the output {@code output} and the score {@code loss}; layer {@code i}'s parameter {@code W} is the
 * mutable parameter {@code layer<i>/W}, with DL4J's network key {@code <i>_W}. A {@code ComputationGraph} keeps its
 * own names: one placeholder per network input, named as the input; each network output is a variable named as its
 * vertex; the labels of an output layer are the placeholder {@code <output>/labels}; the score is {@code loss}, the
 * sum of every output layer's score as DL4J computes it ({@code loss_1} if a vertex or input is already called
 * {@code loss}); vertex {@code v}'s parameter {@code W} is {@code v/W}, with
 * DL4J's key {@code v_W}. Each vertex's other variables live in the name scope {@code <vertex>/}.
 *
 * <p>The graph computes what DL4J computes at inference: dropout (a {@code DropoutLayer} or any layer's dropout) is
 * the identity, batch normalisation uses the running mean and variance. Training the graph with {@code sd.fit}
 * therefore trains without dropout and without updating the running statistics. The graph's loss is DL4J's score
 * without regularisation terms: the per-example loss averaged over the minibatch (summed over the output layers);
 * {@link #score(INDArray, INDArray)} adds the terms, as DL4J's {@code score} does.
 *
 * <p><b>Training the DL4J way.</b> {@link #fit(DataSetIterator, int)} and the other {@code fit} methods train with
 * what the configuration says (each layer's updaters and schedules, regularisation, gradient normalisation,
 * constraints) and equal DL4J's own {@code fit} step for step; {@link #evaluate(DataSetIterator)} returns DL4J's
 * evaluations; DL4J's {@code TrainingListener}s hear the steps ({@link #setListeners}).
 *
 * <p>Parameters DL4J does not train (those of frozen layers and vertices, batch normalisation's running statistics)
 * are mutable too, but their initial values are frozen.
 *
 * <p><b>Bad input.</b> Every array is checked before native code runs: its shape against the network's
 * ({@code input has shape [5, 6]; this network expects [N, 7]}), the number of examples of inputs and labels, nulls and
 * missing placeholders; each is refused with an {@link IllegalArgumentException} that names the input, and the graph
 * is unchanged. Arrays of another floating-point type are cast to the network's, as DL4J does. With
 * {@code graph().checkFinite(true)}, NaN and infinite values in the inputs are refused and non-finite results
 * reported ({@link MutableGraph#checkFinite(boolean)}).
 *
 * <p><b>Threads.</b> {@code output}, {@code outputs}, {@code score}, {@code gradients}, {@code toMultiLayerNetwork}
 * and {@code toComputationGraph} may run in several threads at once. A mutation of a parameter
 * ({@link MutableParameter}) or of the graph through {@link MutableGraph} is serialised against them: it waits for
 * running calls and holds back new ones, so every result is the network's before or after the mutation, never a
 * mixture. Building new ops on {@code graph().sameDiff()} directly, or calling {@code sd.fit} on it, is not
 * serialised: do that while no other thread uses this network.
 */
public final class MutableNetwork {

    private final SourceNetwork source;
    private final Map<String, String> layerNames;
    private final MutableGraph graph;
    private final ConvertedNetwork converted;
    private final NetworkFeeds feeds;
    private FunctionalView functional;       // built on the first functional call
    private NetworkTraining training;        // read from the configuration on first use
    /** The source network's training state at conversion (null for a loaded network), where fit starts. */
    private final Dl4jTrainingState imported;
    private final SequenceMasking masking;

    private MutableNetwork(NetworkParts contents, Dl4jTrainingState imported) {
        this.imported = imported;
        this.source = contents.source();
        this.layerNames = contents.layerNames();
        this.graph = contents.graph();
        this.converted = contents.converted();
        this.feeds = new NetworkFeeds(graph, converted);
        this.masking = new SequenceMasking(converted, source instanceof SourceNetwork.LayerStack
                ? ((SourceNetwork.LayerStack) source).configuration()
                : ((SourceNetwork.VertexGraph) source).configuration());
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
        return convert(net, checkSequenceLength(sequenceLength));
    }

    /**
     * Converts {@code net}, a DAG of layers and vertices, into a mutable SameDiff graph. {@code net} is only read:
     * its parameters are copied.
     *
     * @param net an initialised computation graph
     * @return the converted network
     * @throws IllegalStateException     if {@code net} was not initialised ({@code net.init()})
     * @throws UnsupportedLayerException if a vertex, a layer, or an option of one cannot be converted; the message
     *                                   names the vertex, its class and what is supported
     */
    public static MutableNetwork of(ComputationGraph net) {
        return convert(net, -1);
    }

    /**
     * Converts {@code net} for time-series inputs of a fixed number of time steps (see
     * {@link #of(MultiLayerNetwork, int)}).
     *
     * @param net            an initialised computation graph
     * @param sequenceLength the number of time steps of every time-series input, at least 1
     * @return the converted network
     * @throws IllegalArgumentException  if {@code sequenceLength} is not positive
     * @throws IllegalStateException     if {@code net} was not initialised
     * @throws UnsupportedLayerException if a vertex, a layer, or an option of one cannot be converted
     */
    public static MutableNetwork of(ComputationGraph net, int sequenceLength) {
        return convert(net, checkSequenceLength(sequenceLength));
    }

    private static int checkSequenceLength(int sequenceLength) {
        if (sequenceLength < 1) {
            throw new IllegalArgumentException(format(NetworkMessages.BAD_SEQUENCE_LENGTH, sequenceLength));
        }
        return sequenceLength;
    }

    /**
     * Converts {@code net} with its input placeholder shaped by {@code inputType} (for example
     * {@code InputType.convolutional(28, 28, 1)}): for a network whose first layer does not tell the input's shape,
     * and to have shapes checked before the graph runs. A recurrent input type with a length also fixes the number of
     * time steps (see {@link #of(MultiLayerNetwork, int)}).
     *
     * @param net       an initialised network
     * @param inputType the type of the network's input: feed-forward, recurrent, convolutional or convolutional flat
     * @return the converted network
     * @throws IllegalStateException     if {@code net} was not initialised
     * @throws UnsupportedLayerException if a layer, an option of a layer, or the input type cannot be converted
     */
    public static MutableNetwork of(MultiLayerNetwork net, InputType inputType) {
        Objects.requireNonNull(inputType, "inputType");
        return convert(net, () -> NetworkConverter.convert(net, inputType));
    }

    private static MutableNetwork convert(MultiLayerNetwork net, int sequenceLength) {
        return convert(net, () -> NetworkConverter.convert(net, sequenceLength));
    }

    /**
     * Converts {@code net} with each input placeholder shaped by its {@link InputType}: for a graph whose inputs'
     * shapes its first layers do not tell, and to have shapes checked before the graph runs. Recurrent input types
     * with a length also fix the number of time steps (see {@link #of(ComputationGraph, int)}).
     *
     * @param net        an initialised computation graph
     * @param inputTypes one type per network input, in the network's input order
     * @return the converted network
     * @throws IllegalArgumentException  if the number of input types is not the network's number of inputs
     * @throws IllegalStateException     if {@code net} was not initialised
     * @throws UnsupportedLayerException if a vertex, a layer, an option of one, or an input type cannot be converted
     */
    public static MutableNetwork of(ComputationGraph net, InputType... inputTypes) {
        Objects.requireNonNull(inputTypes, "inputTypes");
        for (InputType t : inputTypes) {
            Objects.requireNonNull(t, "input type");
        }
        return convert(net, () -> NetworkConverter.convert(net, inputTypes));
    }

    private static MutableNetwork convert(ComputationGraph net, int sequenceLength) {
        return convert(net, () -> NetworkConverter.convert(net, sequenceLength));
    }

    private static MutableNetwork convert(MultiLayerNetwork net, Supplier<ConvertedNetwork> conversion) {
        NetworkParts parts = NetworkParts.convert(net, conversion);
        return new MutableNetwork(parts, Dl4jTrainingState.of(net));
    }

    private static MutableNetwork convert(ComputationGraph net, Supplier<ConvertedNetwork> conversion) {
        NetworkParts parts = NetworkParts.convert(net, conversion);
        return new MutableNetwork(parts, Dl4jTrainingState.of(net));
    }

    /** {@return the names of the DL4J layer classes that can be converted} */
    public static List<String> supportedLayers() {
        return NetworkConverter.supportedLayers();
    }

    /**
     * {@return the names of the DL4J graph vertex classes that can be converted ({@code LayerVertex} holds any layer)}
     */
    public static List<String> supportedVertices() {
        return NetworkConverter.supportedVertices();
    }

    /** {@return the mutable graph; {@code graph().sameDiff()} is where a hypernetwork is added} */
    public MutableGraph graph() {
        return graph;
    }

    /** {@return true when this network was converted from a {@code ComputationGraph}} */
    public boolean isComputationGraph() {
        return source instanceof SourceNetwork.VertexGraph;
    }

    /** {@return the names of the input placeholders, in the network's input order} */
    public List<String> inputNames() {
        return converted.inputNames();
    }

    /** {@return the names of the output variables, in the network's output order} */
    public List<String> outputNames() {
        return converted.outputNames();
    }

    /**
     * The names of the labels placeholders, one per output in output order; null for an output that is not an output
     * layer (it has no labels and no loss).
     *
     * @return the names of the labels placeholders, one per output in output order; null for an output that is not an
     *     output layer (it has no labels and no loss)
     */
    public List<String> labelNames() {
        return converted.labelNames();
    }

    /**
     * The name of the input placeholder.
     *
     * @return the name of the input placeholder
     * @throws IllegalStateException if the network has several inputs (use {@link #inputNames()})
     */
    public String inputName() {
        return onlyOne(inputNames(), "input", "inputNames()");
    }

    /**
     * The name of the output activations.
     *
     * @return the name of the output activations
     * @throws IllegalStateException if the network has several outputs (use {@link #outputNames()})
     */
    public String outputName() {
        return onlyOne(outputNames(), "output", "outputNames()");
    }

    /** {@return true when the network has at least one output layer, so the graph has labels and a loss} */
    public boolean hasLoss() {
        return converted.lossName() != null;
    }

    /**
     * The name of the labels placeholder.
     *
     * @return the name of the labels placeholder
     * @throws IllegalStateException if the network has no output layer, or several outputs (use
     *                               {@link #labelNames()})
     */
    public String labelName() {
        requireLoss();
        return onlyOne(labelNames(), "output", "labelNames()");
    }

    /**
     * The name of the scalar score (DL4J's loss averaged over the minibatch, summed over the output layers, without
     * regularisation), which is also the graph's loss variable.
     *
     * @return the name of the scalar score (DL4J's loss averaged over the minibatch, summed over the output layers,
     *     without regularisation), which is also the graph's loss variable
     * @throws IllegalStateException if the network has no output layer
     */
    public String lossName() {
        requireLoss();
        return converted.lossName();
    }

    /** {@return DL4J's network-level parameter keys ({@code 0_W}, {@code conv1_W}, ...), in topological order} */
    public List<String> parameterKeys() {
        return Collections.unmodifiableList(new ArrayList<>(converted.parameterVariables().keySet()));
    }

    /**
     * The mutable parameter of layer {@code layer} of a {@code MultiLayerNetwork}, with DL4J's key {@code key}
     * ({@code W}, {@code b}, {@code RW}, {@code gamma}, ...; a wrapped layer's keys as DL4J's wrapper names them).
     *
     * @param key the parameter key
     * @param layer the layer's index
     * @return the mutable parameter of layer {@code layer} of a {@code MultiLayerNetwork}, with DL4J's key {@code key}
     *     ({@code W}, {@code b}, {@code RW}, {@code gamma}, ...; a wrapped layer's keys as DL4J's wrapper names them)
     * @throws IllegalArgumentException if the layer has no such parameter; the message lists the known keys
     * @throws IllegalStateException    if this network was converted from a {@code ComputationGraph}
     */
    public MutableParameter param(int layer, String key) {
        if (isComputationGraph()) {
            throw new IllegalStateException(NetworkMessages.LAYER_INDEX_OF_GRAPH);
        }
        return param(layer + "_" + key);
    }

    /**
     * The mutable parameter of the layer or vertex called {@code layerName} with DL4J's key {@code key}: a
     * {@code ComputationGraph}'s vertex name, or a {@code MultiLayerNetwork} layer's name ({@code layer0}, or the name
     * given with {@code .name(...)}).
     *
     * @param key the parameter key
     * @param layerName the layer's name
     * @return the mutable parameter of the layer or vertex called {@code layerName} with DL4J's key {@code key}: a
     *     {@code ComputationGraph}'s vertex name, or a {@code MultiLayerNetwork} layer's name ({@code layer0}, or the
     *     name given with {@code .name(...)})
     * @throws IllegalArgumentException if there is no such layer, or it has no such parameter; the message lists
     *                                  what exists
     */
    public MutableParameter param(String layerName, String key) {
        Objects.requireNonNull(layerName, "layerName");
        Objects.requireNonNull(key, "key");
        return param(converted.keyPrefixes().get(vertex(layerName)) + key);
    }

    /**
     * The graph variable holding the output activations of a layer or vertex, as DL4J's
     * {@code feedForward(input, false)} reports them: for reading features, or for building on them in the graph.
     *
     * @param layerName a {@code ComputationGraph}'s vertex name, or a {@code MultiLayerNetwork} layer's name
     *                  ({@code layer0}, or the name given with {@code .name(...)})
     * @return the graph variable holding the output activations of a layer or vertex, as DL4J's {@code
     *     feedForward(input, false)} reports them: for reading features, or for building on them in the graph
     * @throws IllegalArgumentException if there is no such layer or vertex; the message lists the known names
     */
    public SDVariable activations(String layerName) {
        Objects.requireNonNull(layerName, "layerName");
        return graph.sameDiff().getVariable(converted.activationNames().get(vertex(layerName)));
    }

    /**
     * The mutable parameter with DL4J's network-level key, as in {@code net.paramTable()} ({@code 0_W},
     * {@code conv1_W}).
     *
     * @param networkKey DL4J's network-level key ({@code 0_W}, {@code conv1_b})
     * @return the mutable parameter with DL4J's network-level key, as in {@code net.paramTable()} ({@code 0_W}, {@code
     *     conv1_W})
     * @throws IllegalArgumentException if there is no such parameter; the message lists the known keys
     */
    public MutableParameter param(String networkKey) {
        Objects.requireNonNull(networkKey, "networkKey");
        String variable = converted.parameterVariables().get(networkKey);
        if (variable == null) {
            throw new IllegalArgumentException(format(NetworkMessages.UNKNOWN_KEY, networkKey,
                    converted.parameterVariables().keySet()));
        }
        return graph.param(variable);
    }

    /**
     * The network's output for {@code input}, computed by the graph (with the current, possibly mutated, parameters).
     * Before any mutation it equals {@code net.output(input)}.
     *
     * @param input the features, shaped as DL4J expects them
     * @return the network's output for {@code input}, computed by the graph (with the current, possibly mutated,
     *     parameters)
     * @throws IllegalStateException    if the network has several inputs or outputs (use {@link #outputs})
     * @throws IllegalArgumentException if a parameter's value needs other placeholders (use
     *                                  {@link #output(INDArray, Map)})
     */
    public INDArray output(INDArray input) {
        return output(input, Map.of());
    }

    /**
     * The network's output for {@code input}, with values for any other placeholders the mutated parameters read
     * (a hypernetwork's task descriptor, for example).
     *
     * @param input the input array
     * @param otherPlaceholders values of other placeholders the graph reads (a hypernetwork's), keyed by name
     * @return the network's output for {@code input}, with values for any other placeholders the mutated parameters
     *     read (a hypernetwork's task descriptor, for example)
     * @throws IllegalStateException    if the network has several inputs or outputs (use {@link #outputs})
     * @throws IllegalArgumentException if a placeholder the output needs is missing
     */
    public INDArray output(INDArray input, Map<String, INDArray> otherPlaceholders) {
        inputName();
        outputName();
        return outputs(new INDArray[] {input}, otherPlaceholders)[0];
    }

    /**
     * The network's outputs, in its output order, for one array per input in its input order: what
     * {@code ComputationGraph.output(false, inputs)} computes, with the current parameters.
     *
     * @param inputs the input arrays, in the network's input order
     * @return the network's outputs, in its output order, for one array per input in its input order: what {@code
     *     ComputationGraph.output(false, inputs)} computes, with the current parameters
     * @throws IllegalArgumentException if the number of inputs is not the network's, or a placeholder the outputs
     *                                  need is missing (use {@link #outputs(INDArray[], Map)})
     */
    public INDArray[] outputs(INDArray... inputs) {
        return outputs(inputs, Map.of());
    }

    /**
     * The network's outputs, with values for any other placeholders the mutated parameters read.
     *
     * @param inputs            one array per network input, in the network's input order
     * @param otherPlaceholders values of the placeholders a hypernetwork reads
     * @return the network's outputs, with values for any other placeholders the mutated parameters read
     * @throws IllegalArgumentException if the number of inputs is not the network's, or a needed placeholder is
     *                                  missing
     */
    public INDArray[] outputs(INDArray[] inputs, Map<String, INDArray> otherPlaceholders) {
        Map<String, INDArray> feed = feeds.inputs(inputs, otherPlaceholders);
        String[] outputs = outputNames().toArray(new String[0]);
        Map<String, INDArray> values = graph.output(feed, outputs);
        feeds.computedWith(feed);
        INDArray[] result = new INDArray[outputs.length];
        for (int i = 0; i < outputs.length; i++) {
            result[i] = values.get(outputs[i]);
        }
        return result;
    }

    /**
     * The network's output for a batch of variable-length time series, as DL4J's
     * {@code net.output(input, false, featuresMask, labelsMask)}: masks [N, T] hold 1 for the time steps present and
     * 0 for padding. The features mask reaches the layers as DL4J propagates it (recurrent layers zero their output
     * and state at padding, {@code LastTimeStep} and global pooling read the steps present, dense layers after
     * {@code RnnToFeedForwardPreProcessor} zero the rows of padding); the labels mask zeroes the output layer's
     * output at the steps it leaves out, or, a mask per output [N, n, T] (for an NCW {@code RnnOutputLayer}), at the
     * outputs and steps it leaves out. The first masked call builds a masked copy of the network in the graph
     * (layers that cannot take a mask are refused then, by name, and the graph is left unchanged); mutations reach it
     * as they reach the network.
     *
     * @param input        the features
     * @param featuresMask the features mask [N, T], or null
     * @param labelsMask   the labels mask [N, T] of the output, or [N, n, T] per output, or null
     * @return the output
     * @throws IllegalStateException         if the network has several inputs or outputs (use {@link #outputs(
     *                                       INDArray[], INDArray[], INDArray[])})
     * @throws IllegalArgumentException      if a mask is not [N, T] for the series' length T (a labels mask per
     *                                       output: not the output's shape, or for another layer than an NCW
     *                                       {@code RnnOutputLayer} or {@code RnnLossLayer}) or holds other values than
     *                                       0 and 1, or as {@link #output(INDArray)}
     * @throws UnsupportedLayerException     if a layer the mask reaches cannot take it (named in the message)
     */
    public INDArray output(INDArray input, INDArray featuresMask, INDArray labelsMask) {
        inputName();
        outputName();
        return outputs(new INDArray[] {input}, new INDArray[] {featuresMask}, new INDArray[] {labelsMask})[0];
    }

    /**
     * The network's outputs for variable-length time series, as {@code ComputationGraph.output(false, inputs,
     * featuresMasks, labelsMasks)}; see {@link #output(INDArray, INDArray, INDArray)}.
     *
     * @param inputs        one array per network input
     * @param featuresMasks one mask per input (null entries, or a null array, for none)
     * @param labelsMasks   one mask per output (null entries, or a null array, for none)
     * @return the outputs, in the network's output order
     * @throws IllegalArgumentException  as {@link #output(INDArray, INDArray, INDArray)}, or if the number of masks
     *                                   is not the number of inputs or outputs
     * @throws UnsupportedLayerException if a layer the mask reaches cannot take it
     */
    public INDArray[] outputs(INDArray[] inputs, INDArray[] featuresMasks, INDArray[] labelsMasks) {
        if (!SequenceMasking.any(featuresMasks) && !SequenceMasking.any(labelsMasks)) {
            return outputs(inputs);
        }
        Map<String, INDArray> data = feeds.inputs(inputs, Map.of());
        SequenceMasking.Call call = masking.call(data, featuresMasks, labelsMasks);
        Map<String, INDArray> values = graph.output(call.feed(), call.outputs().toArray(new String[0]));
        feeds.computedWith(data);
        INDArray[] result = new INDArray[call.outputs().size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = masking.withLabelsMask(i, values.get(call.outputs().get(i)),
                    labelsMasks == null ? null : labelsMasks[i]);
        }
        return result;
    }

    /**
     * The score of a minibatch, masks included, as DL4J's {@code net.score(data)}: without masks
     * {@link #score(INDArray[], INDArray[])}; with masks, each output layer scores the time steps its labels mask
     * keeps (all without one), summed and divided by the number of examples, on the outputs computed with the
     * features mask ({@link #output(INDArray, INDArray, INDArray)}); plus the regularisation terms.
     *
     * @param data a minibatch
     * @return the score
     * @throws IllegalArgumentException  if the data are null or lack features or labels, or as {@link
     *                                   #output(INDArray, INDArray, INDArray)}
     * @throws UnsupportedLayerException if a layer a mask reaches cannot take it
     */
    public double score(DataSet data) {
        requireData(data, "data set");
        return score(ComputationGraphUtil.toMultiDataSet(data));
    }

    /**
     * The score of a minibatch of a network with several inputs or outputs, masks included; see
     * {@link #score(DataSet)}.
     *
     * @param data a minibatch
     * @return the score
     * @throws IllegalArgumentException  as {@link #score(DataSet)}
     * @throws UnsupportedLayerException if a layer a mask reaches cannot take it
     */
    public double score(MultiDataSet data) {
        requireData(data, "multi data set");
        SequenceMasking.Call call = scored(data, "multi data set");
        return scoreOf(call.feed(), call.loss());
    }

    /**
     * The gradients of {@link #score(DataSet)}, masks included, keyed and scaled as {@link #gradients(INDArray,
     * INDArray)}.
     *
     * @param data a minibatch
     * @return the gradients by DL4J key
     * @throws IllegalArgumentException  as {@link #score(DataSet)}
     * @throws UnsupportedLayerException if a layer a mask reaches cannot take it
     */
    public Map<String, INDArray> gradients(DataSet data) {
        requireData(data, "data set");
        return gradients(ComputationGraphUtil.toMultiDataSet(data));
    }

    /**
     * The gradients of {@link #score(MultiDataSet)}, masks included; see {@link #gradients(DataSet)}.
     *
     * @param data a minibatch
     * @return the gradients by DL4J key
     * @throws IllegalArgumentException  as {@link #score(DataSet)}
     * @throws UnsupportedLayerException if a layer a mask reaches cannot take it
     */
    public Map<String, INDArray> gradients(MultiDataSet data) {
        requireData(data, "multi data set");
        SequenceMasking.Call call = scored(data, "multi data set");
        return gradientsOf(call.feed(), call.loss());
    }

    /**
     * The feed and loss variable that score a minibatch: the network's own, or its masked copy's when the minibatch
     * holds masks (the data checked as for an unmasked call first).
     */
    private SequenceMasking.Call scored(MultiDataSet data, String what) {
        requireFeaturesAndLabels(data.getFeatures(), data.getLabels(), what);
        requireLoss();
        Map<String, INDArray> feed = feeds.training(data.getFeatures(), data.getLabels(), Map.of());
        if (!SequenceMasking.any(data.getFeaturesMaskArrays()) && !SequenceMasking.any(data.getLabelsMaskArrays())) {
            return new SequenceMasking.Call(feed, outputNames(), lossName());
        }
        return masking.call(feed, data.getFeaturesMaskArrays(), data.getLabelsMaskArrays());
    }

    /**
     * The score for {@code input} and {@code labels} of a single-input, single-output network, as DL4J's
     * {@code score(DataSet)}: the loss averaged over the minibatch, plus the configuration's regularisation terms
     * ({@code l1}, {@code l2}, {@code weightDecay} and their bias variants, each as its {@code score} method gives it:
     * {@code l1 * sum|w|}, {@code l2 / 2 * sum w^2}, {@code decay / 2 * sum w^2}) on every parameter's current value,
     * at the training's iteration and epoch counts, except the parameters of DL4J's SameDiff-based layers (attention,
     * locally connected, capsules, a user's {@code SameDiffLayer}), whose regularisation DL4J's score leaves out
     * (their implementation scores none) though its training, and {@code fit}'s, applies it.
     *
     * @param input the input array
     * @param labels the labels
     * @return the score
     * @throws IllegalStateException if the network has no output layer, or several inputs or outputs (use
     *                               {@link #score(INDArray[], INDArray[])})
     */
    public double score(INDArray input, INDArray labels) {
        inputName();
        outputName();
        return score(new INDArray[] {input}, new INDArray[] {labels});
    }

    /**
     * The score for one array per network input and one labels array per network output: the sum of every output
     * layer's loss averaged over the minibatch, plus the regularisation terms (see {@link #score(INDArray,
     * INDArray)}), as {@code ComputationGraph.score}.
     *
     * @param inputs one array per input, in the network's input order
     * @param labels one array per output, in the network's output order (null for an output without a loss)
     * @return the score
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the number of inputs or labels is wrong, or labels of an output layer are
     *                                  missing
     */
    public double score(INDArray[] inputs, INDArray[] labels) {
        return score(inputs, labels, Map.of());
    }

    /**
     * The score, with values for any other placeholders the mutated parameters read (a hypernetwork's task
     * descriptor, for example).
     *
     * @param inputs            one array per input, in the network's input order
     * @param labels            one array per output, in the network's output order (null for an output without a loss)
     * @param otherPlaceholders values of the placeholders a hypernetwork reads
     * @return the score, as {@link #score(INDArray[], INDArray[])}
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the number of inputs or labels is wrong, labels of an output layer are
     *                                  missing, or a needed placeholder is missing
     */
    public double score(INDArray[] inputs, INDArray[] labels, Map<String, INDArray> otherPlaceholders) {
        requireLoss();
        return scoreOf(feeds.training(inputs, labels, otherPlaceholders), lossName());
    }

    /** The value of loss variable {@code loss} for {@code feed}, plus the regularisation terms. */
    private double scoreOf(Map<String, INDArray> feed, String loss) {
        NetworkTraining t = training();
        List<String> regularized = t.regularizedVariables();
        List<String> requested = new ArrayList<>(List.of(loss));
        Map<String, INDArray> values = new LinkedHashMap<>();
        for (String v : regularized) {
            SDVariable variable = graph.sameDiff().getVariable(v);
            if (variable.getVariableType() == VariableType.VARIABLE) {
                values.put(v, variable.getArr());
            } else {
                requested.add(v);       // a parameter with a slot: its value is computed with the loss
            }
        }
        Map<String, INDArray> out = graph.output(feed, requested.toArray(new String[0]));
        feeds.computedWith(feed);
        values.putAll(out);
        GraphTrainer trainer = t.trainerIfBuilt();
        long iteration = trainer == null ? 0 : trainer.iteration();
        long epoch = trainer == null ? 0 : trainer.epoch();
        return out.get(loss).getDouble(0) + t.regularizationScore(values, iteration, epoch);
    }

    /**
     * The gradients of the score with respect to each parameter's current value, keyed by DL4J's network-level keys,
     * one for every parameter (zeros, as DL4J reports, for one the score does not depend on: an RNN's recurrent
     * weights over a single time step, a frozen constant). They are DL4J's {@code computeGradientAndScore()}
     * gradients divided by the minibatch size: DL4J reports gradients summed over the examples and divides them in its
     * updater, while these are the gradients of the (averaged) score itself. (For layers configured with
     * {@code miniBatch(false)}, whose score DL4J sums over the examples, they equal DL4J's.) Parameters DL4J does not
     * train by gradient (frozen layers, batch normalisation's running statistics) get their true gradients here, where
     * DL4J reports zeros or its running-average updates. The score is differentiated whatever loss the graph holds
     * (a trainer of a meta-loss on the same graph sets its own), and the graph's loss variable is the score's after
     * the call ({@code MutableGraph.gradientsOf}).
     *
     * @param input the input array
     * @param labels the labels
     * @return the gradients of the score with respect to each parameter's current value, keyed by DL4J's network-level
     *     keys, one for every parameter (zeros, as DL4J reports, for one the score does not depend on: an RNN's
     *     recurrent weights over a single time step, a frozen constant)
     * @throws IllegalStateException if the network has no output layer, or several inputs or outputs (use
     *                               {@link #gradients(INDArray[], INDArray[])})
     */
    public Map<String, INDArray> gradients(INDArray input, INDArray labels) {
        inputName();
        outputName();
        return gradients(new INDArray[] {input}, new INDArray[] {labels});
    }

    /**
     * The gradients of the score ({@link #score(INDArray[], INDArray[])}) with respect to each parameter's current
     * value, keyed by DL4J's network-level keys ({@code conv1_W}), with the same minibatch convention as
     * {@link #gradients(INDArray, INDArray)}.
     *
     * @param inputs the input arrays, in the network's input order
     * @param labels the labels
     * @return the gradients of the score ({@code #score(INDArray[], INDArray[])}) with respect to each parameter's
     *     current value, keyed by DL4J's network-level keys ({@code conv1_W}), with the same minibatch convention as
     *     {@code #gradients(INDArray, INDArray)}
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the number of inputs or labels is wrong, or labels of an output layer are
     *                                  missing
     */
    public Map<String, INDArray> gradients(INDArray[] inputs, INDArray[] labels) {
        return gradients(inputs, labels, Map.of());
    }

    /**
     * The gradients of the score, with values for any other placeholders the mutated parameters read; see
     * {@link #gradients(INDArray[], INDArray[])}.
     *
     * @param inputs the input arrays, in the network's input order
     * @param labels the labels
     * @param otherPlaceholders values of other placeholders the graph reads (a hypernetwork's), keyed by name
     * @return the gradients of the score, with values for any other placeholders the mutated parameters read; see
     *     {@code #gradients(INDArray[], INDArray[])}
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the number of inputs or labels is wrong, labels of an output layer are
     *                                  missing, or a needed placeholder is missing
     */
    public Map<String, INDArray> gradients(INDArray[] inputs, INDArray[] labels,
                                           Map<String, INDArray> otherPlaceholders) {
        requireLoss();
        return gradientsOf(feeds.training(inputs, labels, otherPlaceholders), lossName());
    }

    /** The gradients of loss variable {@code loss} for {@code feed}, by DL4J key. */
    private Map<String, INDArray> gradientsOf(Map<String, INDArray> feed, String loss) {
        List<String> variables = new ArrayList<>(converted.parameterVariables().values());
        // the score's, whatever loss a trainer of another loss (a meta-loss) left the graph set to
        Map<String, INDArray> byVariable = graph.gradientsOf(loss, feed, variables.toArray(new String[0]));
        feeds.computedWith(feed);
        Map<String, INDArray> byKey = new LinkedHashMap<>();
        converted.parameterVariables().forEach((key, variable) -> {
            INDArray g = byVariable.get(variable);
            if (g == null) {
                // SameDiff leaves out what the score does not depend on (an RNN's recurrent weights over one time
                // step, a constant); DL4J reports zeros there, and so does this map
                MutableParameter p = graph.param(variable);
                g = Nd4j.zeros(p.dataType(), p.shape());
            }
            byKey.put(key, g);
        });
        return byKey;
    }

    /**
     * Trains the network for one step on {@code data}, as DL4J's {@code net.fit(data)} would: see
     * {@link #fit(DataSetIterator, int)} for what is applied.
     *
     * @param data one minibatch: features and labels, and masks of time series if any ({@link #score(DataSet)})
     * @throws IllegalArgumentException      if the data are null, lack features or labels, hold bad masks, or do not
     *                                       fit the network (as {@link #score(INDArray, INDArray)})
     * @throws UnsupportedOperationException if the configuration holds a setting that cannot be trained as DL4J
     *                                       would (named in the message); nothing is changed then
     * @throws ArithmeticException           if the score is not finite; the parameters are then not updated
     */
    public void fit(DataSet data) {
        requireData(data, "data set");
        step(ComputationGraphUtil.toMultiDataSet(data), "data set", 0);
    }

    /**
     * Trains the network for one step on {@code data}, one array per input and per output (a
     * {@code ComputationGraph}'s data); see {@link #fit(DataSetIterator, int)}.
     *
     * @param data one minibatch, with masks if any
     * @throws IllegalArgumentException      as {@link #fit(DataSet)}
     * @throws UnsupportedOperationException as {@link #fit(DataSet)}
     * @throws ArithmeticException           as {@link #fit(DataSet)}
     */
    public void fit(MultiDataSet data) {
        requireData(data, "multi data set");
        step(data, "multi data set", 0);
    }

    /**
     * Trains the network for {@code epochs} passes over {@code iterator}, as DL4J's {@code net.fit(iterator, epochs)}
     * does: one step per minibatch, with what the DL4J configuration says. Each parameter's updater (the layer's
     * {@code updater} or {@code biasUpdater}, with its learning-rate schedule) and its regularisation ({@code l1},
     * {@code l2}, {@code weightDecay} and their bias variants); each layer's gradient normalisation and threshold;
     * the layers' constraints after each step; the iteration and epoch counts the schedules read. Without dropout,
     * N steps leave the parameters DL4J's own {@code fit} leaves, in DOUBLE to about 1e-12 relative.
     *
     * <p>Refused by name, before anything changes: dropout and other noise ({@code dropOut}, {@code GaussianNoise},
     * weight noise), which DL4J draws from its own random stream; a trainable {@code BatchNormalization}, which DL4J
     * trains on batch statistics while the graph computes the inference mode; {@code CenterLossOutputLayer}, whose
     * centres DL4J updates by its own rule; truncated backpropagation through time; optimisation algorithms other
     * than stochastic gradient descent. A minibatch with masks trains on the score {@link #score(DataSet)} computes
     * with them (a layer a mask reaches but cannot take is refused by name).
     *
     * <p>Mutated parameters train the variables that now produce them, with the parameter's settings (a variable that
     * feeds several parameters takes those of the first, in the network's order); the regularisation terms then apply
     * to the variables trained. Listeners ({@link #setListeners}) hear every step and epoch; a fit that runs for more
     * than 10 seconds logs each epoch through SLF4J at INFO level. The training state (updater state, iteration and
     * epoch counts) starts where the source network's training stopped (DL4J's counts and each parameter's updater
     * arrays, such as Adam's moments), is kept by {@link #save(OutputStream)}, and goes to the networks that
     * {@link #toMultiLayerNetwork} and {@link #toComputationGraph} bake, so DL4J's {@code fit} goes on from it.
     *
     * @param iterator the minibatches; reset before a pass that finds it at its end, as DL4J does
     * @param epochs   the number of passes, at least 1
     * @throws IllegalArgumentException      if {@code epochs} is below 1, more than one epoch is asked of an iterator
     *                                       that cannot be reset, or a minibatch is bad (as {@link #fit(DataSet)}); the
     *                                       steps before it stay done
     * @throws UnsupportedOperationException as {@link #fit(DataSet)}
     * @throws ArithmeticException           as {@link #fit(DataSet)}; the steps before stay done
     */
    public void fit(DataSetIterator iterator, int epochs) {
        requireData(iterator, "iterator");
        fit(new MultiDataSetIteratorAdapter(iterator), epochs);     // each DataSet as a one-input MultiDataSet
    }

    /**
     * Trains the network for {@code epochs} passes over {@code iterator}, one array per input and per output (a
     * {@code ComputationGraph}'s data); see {@link #fit(DataSetIterator, int)}.
     *
     * @param iterator the minibatches
     * @param epochs   the number of passes, at least 1
     * @throws IllegalArgumentException      as {@link #fit(DataSetIterator, int)}
     * @throws UnsupportedOperationException as {@link #fit(DataSet)}
     * @throws ArithmeticException           as {@link #fit(DataSet)}; the steps before stay done
     */
    public void fit(MultiDataSetIterator iterator, int epochs) {
        checkEpochs(iterator, epochs, iterator == null ? false : iterator.resetSupported());
        training().epochs(epochs, () -> {
            if (!iterator.hasNext() && iterator.resetSupported()) {
                iterator.reset();
            }
            while (iterator.hasNext()) {
                long asked = System.nanoTime();
                MultiDataSet next = iterator.next();
                if (next.getFeatures() == null || next.getLabels() == null || next.getFeatures(0) == null
                        || next.getLabels(0) == null) {
                    break;      // as DL4J's fit: the end of the data
                }
                step(next, "multi data set", (System.nanoTime() - asked) / 1_000_000);
            }
        });
    }

    /**
     * The score of the last training step ({@link #fit(DataSet)} and the others), as DL4J's {@code score()} after a
     * fit: the minibatch's loss plus the regularisation terms, before that step's update.
     *
     * @return the score, or NaN before the first step
     */
    public double score() {
        return training().lastScore();
    }

    /**
     * The number of training steps done by {@link #fit(DataSet)} and the others; DL4J's iteration count.
     *
     * @return the count, 0 before the first step
     */
    public long iterationCount() {
        GraphTrainer t = training().trainerIfBuilt();
        return t == null ? 0 : t.iteration();
    }

    /**
     * The number of epochs {@link #fit(DataSetIterator, int)} has completed; DL4J's epoch count.
     *
     * @return the count
     */
    public long epochCount() {
        GraphTrainer t = training().trainerIfBuilt();
        return t == null ? 0 : t.epoch();
    }

    /**
     * Replaces the listeners that training notifies, DL4J's own {@code TrainingListener}s: each step calls
     * {@code iterationDone} (with DL4J's iteration count before the step) and each epoch {@code onEpochStart} and
     * {@code onEpochEnd}. The model they receive answers {@code score()}, {@code input()}, {@code batchSize()} and
     * {@code numParams()} (what {@code ScoreIterationListener}, {@code PerformanceListener} and
     * {@code CollectScoresListener} read) and refuses the rest by name; the forward and backward pass events are not
     * sent.
     *
     * @param listeners the listeners; none to remove them all
     * @throws NullPointerException if a listener is null
     */
    public void setListeners(TrainingListener... listeners) {
        for (TrainingListener l : listeners) {
            Objects.requireNonNull(l, "listener");
        }
        List<TrainingListener> current = training().listeners();
        current.clear();
        current.addAll(List.of(listeners));
    }

    /**
     * Adds listeners to those {@link #setListeners} set.
     *
     * @param listeners the listeners to add
     * @throws NullPointerException if a listener is null
     */
    public void addListeners(TrainingListener... listeners) {
        for (TrainingListener l : listeners) {
            Objects.requireNonNull(l, "listener");
        }
        training().listeners().addAll(List.of(listeners));
    }

    /**
     * {@return the listeners training notifies, in order (a copy)}
     */
    public List<TrainingListener> getListeners() {
        return List.copyOf(training().listeners());
    }

    /**
     * Evaluates a classifier on {@code iterator}, as DL4J's {@code net.evaluate(iterator)}: the network's output
     * (inference mode) against each minibatch's labels.
     *
     * @param iterator the data; reset first if it is at its end and can be reset
     * @return DL4J's classification evaluation, equal to DL4J's own for the same network and data
     * @throws IllegalArgumentException as {@link #doEvaluation}
     */
    public Evaluation evaluate(DataSetIterator iterator) {
        return doEvaluation(iterator, new Evaluation())[0];
    }

    /**
     * Evaluates a regression network on {@code iterator}, as DL4J's {@code net.evaluateRegression(iterator)}.
     *
     * @param iterator the data; reset first if it is at its end and can be reset
     * @return DL4J's regression evaluation
     * @throws IllegalArgumentException as {@link #doEvaluation}
     */
    public RegressionEvaluation evaluateRegression(DataSetIterator iterator) {
        return doEvaluation(iterator, new RegressionEvaluation())[0];
    }

    /**
     * Runs any of ND4J's evaluations ({@code Evaluation}, {@code ROC}, {@code RegressionEvaluation}...) over
     * {@code iterator}, as DL4J's {@code net.doEvaluation}: each minibatch's output against its labels, for a network
     * of one input and one output.
     *
     * @param iterator    the data; reset first if it is at its end and can be reset
     * @param evaluations the evaluations to fill
     * @param <T>         the evaluations' type
     * @return {@code evaluations}, filled
     * @throws IllegalArgumentException if the iterator is null, a minibatch holds bad masks or does not fit the network
     * @throws IllegalStateException    if the network has several inputs or outputs
     */
    @SafeVarargs
    public final <T extends IEvaluation> T[] doEvaluation(DataSetIterator iterator, T... evaluations) {
        requireData(iterator, "iterator");
        inputName();
        outputName();
        if (iterator.resetSupported() && !iterator.hasNext()) {
            iterator.reset();
        }
        while (iterator.hasNext()) {
            DataSet next = iterator.next();
            if (next.getFeatures() == null || next.getLabels() == null) {
                continue;
            }
            INDArray out = output(next.getFeatures(), next.getFeaturesMaskArray(), next.getLabelsMaskArray());
            for (T evaluation : evaluations) {
                evaluation.eval(next.getLabels(), out, next.getLabelsMaskArray());
            }
        }
        return evaluations;
    }

    private void step(MultiDataSet data, String what, long dataMillis) {
        requireFeaturesAndLabels(data.getFeatures(), data.getLabels(), what);
        requireLoss();
        NetworkTraining t = training();
        t.trainer();        // refuses what cannot be trained before the data are read
        SequenceMasking.Call call = scored(data, what);
        t.step(call.feed(), call.loss(), data.getFeatures(0), dataMillis);
        feeds.computedWith(call.feed());
    }

    private static void requireFeaturesAndLabels(INDArray[] features, INDArray[] labels, String what) {
        if (features == null || features.length == 0) {
            throw new IllegalArgumentException(format(NetworkMessages.MISSING_DATA, what, "features"));
        }
        if (labels == null || labels.length == 0) {
            throw new IllegalArgumentException(format(NetworkMessages.MISSING_DATA, what, "labels"));
        }
    }

    private synchronized NetworkTraining training() {
        if (training == null) {
            training = NetworkTraining.of(source, converted, graph, imported);
        }
        return training;
    }

    /**
     * Gives a baked network the training state: {@code fit}'s (its counts and each parameter's updater arrays, for
     * the parameters it trains themselves), or else the state the source network had at conversion.
     */
    private void writeTrainingState(org.deeplearning4j.nn.api.Model baked) {
        GraphTrainer trainer = training == null ? null : training.trainerIfBuilt();
        if (trainer == null) {
            if (imported != null) {
                imported.writeTo(baked);
            }
            return;
        }
        Map<String, Map<String, INDArray>> states = new LinkedHashMap<>();
        converted.parameterVariables().forEach((key, variable) -> {
            Map<String, INDArray> arrays = trainer.updaterState(variable);
            if (!arrays.isEmpty()) {
                states.put(key, arrays);
            }
        });
        new Dl4jTrainingState(trainer.iteration(), trainer.epoch(), states).writeTo(baked);
    }

    private static void requireData(Object data, String what) {
        if (data == null) {
            throw new IllegalArgumentException(format(NetworkMessages.NULL_DATA, what));
        }
    }

    private static void checkEpochs(Object iterator, int epochs, boolean resettable) {
        requireData(iterator, "iterator");
        if (epochs < 1) {
            throw new IllegalArgumentException(format(NetworkMessages.BAD_EPOCHS, epochs));
        }
        if (epochs > 1 && !resettable) {
            throw new IllegalArgumentException(format(NetworkMessages.NO_RESET, epochs));
        }
    }

    /**
     * The functional view of this network: the network as a function of its parameters, applied to expressions of
     * this graph ({@code torch.func.functional_call}'s counterpart), with the score's gradients as expressions for
     * second-order meta-learning. Built on first use, then the same object.
     *
     * @return the functional view of this network: the network as a function of its parameters, applied to expressions
     *     of this graph ({@code torch.func.functional_call}'s counterpart), with the score's gradients as expressions
     *     for second-order meta-learning
     */
    public FunctionalView functional() {
        synchronized (this) {
            if (functional == null) {
                functional = new FunctionalView(this, source.functional(converted, graph));
            }
            return functional;
        }
    }

    /**
     * The functional call: {@code functional().forward(input, parameters)} ({@link FunctionalView}).
     *
     * @param input the input array
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the functional call: {@code functional().forward(input, parameters)} ({@code FunctionalView})
     */
    public SDVariable forward(SDVariable input, Map<String, SDVariable> parameters) {
        return functional().forward(input, parameters);
    }

    /**
     * The functional call of a network with several inputs or outputs; {@link FunctionalView#forward(List, Map)}.
     *
     * @param inputs the input arrays, in the network's input order
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the functional call of a network with several inputs or outputs; {@code FunctionalView#forward(List,
     *     Map)}
     */
    public List<SDVariable> forward(List<SDVariable> inputs, Map<String, SDVariable> parameters) {
        return functional().forward(inputs, parameters);
    }

    /**
     * The score of the functional call; {@link FunctionalView#loss(SDVariable, SDVariable, Map)}.
     *
     * @param input the input array
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the score of the functional call; {@code FunctionalView#loss(SDVariable, SDVariable, Map)}
     */
    public SDVariable loss(SDVariable input, SDVariable labels, Map<String, SDVariable> parameters) {
        return functional().loss(input, labels, parameters);
    }

    /**
     * The score of the functional call of several inputs or outputs; {@link FunctionalView#loss(List, List, Map)}.
     *
     * @param inputs the input arrays, in the network's input order
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the score of the functional call of several inputs or outputs; {@code FunctionalView#loss(List, List,
     *     Map)}
     */
    public SDVariable loss(List<SDVariable> inputs, List<SDVariable> labels, Map<String, SDVariable> parameters) {
        return functional().loss(inputs, labels, parameters);
    }

    /**
     * The score's gradients as expressions; {@link FunctionalView#lossGradients(SDVariable, SDVariable, Map)}.
     *
     * @param input the input array
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the score's gradients as expressions; {@code FunctionalView#lossGradients(SDVariable, SDVariable, Map)}
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels,
                                                 Map<String, SDVariable> parameters) {
        return functional().lossGradients(input, labels, parameters);
    }

    /**
     * A new plain {@code MultiLayerNetwork}, with this network's configuration, whose parameters are the current
     * values of the mutable parameters: the way to serve weights that a hypernetwork produced with plain DL4J. It
     * carries the training state ({@code fit}'s iteration and epoch counts and the updater arrays of the parameters
     * it trains directly, or the source network's if {@code fit} never ran), so DL4J's {@code fit} goes on from it.
     *
     * @param placeholders values for the placeholders the parameters' values read (none if no parameter was fed from
     *                     a placeholder)
     * @return a new, initialised network; the source network and the graph are unchanged
     * @throws IllegalStateException    if this network was converted from a {@code ComputationGraph}
     * @throws IllegalArgumentException if a placeholder needed by a parameter's value is missing
     */
    public MultiLayerNetwork toMultiLayerNetwork(Map<String, INDArray> placeholders) {
        if (!(source instanceof SourceNetwork.LayerStack layers)) {
            throw new IllegalStateException(format(NetworkMessages.WRONG_BAKE, "ComputationGraph",
                    "toComputationGraph"));
        }
        MultiLayerNetwork baked = parts().bake(layers::newNetwork, placeholders);
        writeTrainingState(baked);
        return baked;
    }

    /**
     * A new plain {@code ComputationGraph}, with this network's configuration (frozen vertices and layers stay
     * frozen), whose parameters are the current values of the mutable parameters, with the training state as
     * {@link #toMultiLayerNetwork} gives it.
     *
     * @param placeholders values for the placeholders the parameters' values read (none if no parameter was fed from
     *                     a placeholder)
     * @return a new, initialised graph; the source network and the mutable graph are unchanged
     * @throws IllegalStateException    if this network was converted from a {@code MultiLayerNetwork}
     * @throws IllegalArgumentException if a placeholder needed by a parameter's value is missing
     */
    public ComputationGraph toComputationGraph(Map<String, INDArray> placeholders) {
        if (!(source instanceof SourceNetwork.VertexGraph vertices)) {
            throw new IllegalStateException(format(NetworkMessages.WRONG_BAKE, "MultiLayerNetwork",
                    "toMultiLayerNetwork"));
        }
        ComputationGraph baked = parts().bake(vertices::newNetwork, placeholders);
        writeTrainingState(baked);
        return baked;
    }

    /**
     * Saves everything needed to go on where this network is: its graph as {@link MutableGraph#save(OutputStream)}
     * saves it (the mutable parameters with their histories, whatever feeds them, a hypernetwork included), the DL4J
     * configuration it was converted from, and the names that tie the two together. {@link #load} reads it. If the
     * network has been trained by {@link #fit(DataSet)} or the other {@code fit} methods, their training state
     * (updater state, iteration and epoch counts) is saved too, and the loaded network's {@code fit} goes on from it;
     * for another trainer's state, see {@link #save(OutputStream, GraphTrainer)}.
     *
     * @param out where to write; not closed
     * @throws IOException if writing fails
     */
    public void save(OutputStream out) throws IOException {
        save(out, training == null ? null : training.trainerIfBuilt());
    }

    /**
     * Saves the network as {@link #save(OutputStream)} does, with {@code trainer}'s state (see
     * {@link MutableGraph#save(OutputStream, GraphTrainer)}): a trainer built with an equal updater on the loaded
     * network's graph goes on exactly where this one stopped.
     *
     * @param out     where to write; not closed
     * @param trainer a trainer of this network's graph, or null for none
     * @throws IOException              if writing fails
     * @throws IllegalArgumentException if {@code trainer} trains another graph
     */
    public void save(OutputStream out, GraphTrainer trainer) throws IOException {
        Objects.requireNonNull(out, "out");
        NetworkFile.write(out, parts(), trainer);
    }

    /**
     * Saves to a file, written beside it first and moved into place; see {@link #save(OutputStream)}.
     *
     * @param file the file to write (replaced if it exists)
     * @throws IOException if writing fails
     */
    public void save(Path file) throws IOException {
        save(file, training == null ? null : training.trainerIfBuilt());
    }

    /**
     * Saves to a file with a trainer's state; see {@link #save(OutputStream, GraphTrainer)} and {@link #save(Path)}.
     *
     * @param file    the file to write (replaced if it exists)
     * @param trainer a trainer of this network's graph, or null for none
     * @throws IOException              if writing fails
     * @throws IllegalArgumentException if {@code trainer} trains another graph
     */
    public void save(Path file, GraphTrainer trainer) throws IOException {
        Objects.requireNonNull(file, "file");
        Archive.writeAtomically(file, out -> save(out, trainer));
    }

    /**
     * Loads a network saved by {@link #save(OutputStream)}: outputs, scores, gradients, histories (and a saved
     * trainer's state) equal the saved network's, and {@code toMultiLayerNetwork}/{@code toComputationGraph} work as
     * before.
     *
     * @param in the stream, read to its end; not closed
     * @return the loaded network
     * @throws IOException if the stream is not such a file, is truncated or corrupted, or was written by another
     *                     version of the format; nothing is half-loaded then
     */
    public static MutableNetwork load(InputStream in) throws IOException {
        Objects.requireNonNull(in, "in");
        return new MutableNetwork(NetworkFile.read(in), null);
    }

    /**
     * Loads a network from a file written by {@link #save(Path)}; see {@link #load(InputStream)}.
     *
     * @param file the file
     * @return the loaded network
     * @throws IOException as {@link #load(InputStream)}, or if the file cannot be read
     */
    public static MutableNetwork load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream in = Files.newInputStream(file)) {
            return load(in);
        }
    }

    @Override
    public String toString() {
        return "MutableNetwork" + converted.parameterVariables().keySet();
    }

    private NetworkParts parts() {
        return new NetworkParts(source, layerNames, graph, converted);
    }

    private String vertex(String layerName) {
        String vertex = layerNames.get(layerName);
        if (vertex == null) {
            throw new IllegalArgumentException(format(NetworkMessages.UNKNOWN_LAYER, layerName, layerNames.keySet()));
        }
        return vertex;
    }

    private void requireLoss() {
        if (!hasLoss()) {
            throw new IllegalStateException(NetworkMessages.NO_LOSS);
        }
    }

    private static String onlyOne(List<String> names, String what, String method) {
        if (names.size() != 1) {
            throw new IllegalStateException(format(NetworkMessages.NOT_ONE, names.size(), what, names, method));
        }
        return names.get(0);
    }
}
