package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The converted network as a function of its parameters, applied again inside the same graph: the counterpart of
 * {@code torch.func.functional_call}. {@link #forward} and {@link #loss} run the same converters that converted the
 * network ({@link NetworkConverter#replay}), reading the caller's expressions instead of the parameters, so they work
 * for every layer and vertex the conversion supports. {@link #lossGradients} gives the gradient of the score as
 * ordinary graph expressions (explicit backward rules per layer, {@link ExplicitLayer}), which SameDiff can
 * differentiate again: what second-order meta-learning needs, since SameDiff cannot differentiate its own gradient
 * function.
 *
 * <p>The explicit backward rules cover a {@code MultiLayerNetwork}, or a {@code ComputationGraph} that is a chain
 * from one input to one output, of {@link #SUPPORTED_LAYERS} ({@code DropoutLayer} the identity, as at inference;
 * refused in training mode);
 * activations {@link DifferentiableActivation#SUPPORTED}, losses {@link DifferentiableLoss#SUPPORTED}. For other
 * networks {@link #lossGradients} throws the exception naming the first layer without a rule. Every call validates
 * its arguments before it adds anything to the graph and leaves the graph as it was when it fails. Internal to the
 * adapter; use {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class FunctionalNetwork {

    static final String SUPPORTED_LAYERS = "DenseLayer, OutputLayer, ActivationLayer, DropoutLayer, "
            + "ConvolutionLayer, SubsamplingLayer (MAX, AVG), GlobalPoolingLayer (AVG, SUM, MAX), BatchNormalization "
            + "(running statistics, or the batch's in training mode), EmbeddingLayer (first), SimpleRnn and LSTM "
            + "(also inside LastTimeStep; unrolled, so the number of time steps must be known), RnnOutputLayer, with "
            + "the pre-processors CnnToFeedForwardPreProcessor and FeedForwardToCnnPreProcessor";

    /**
     * The converters applied again with given inputs, parameters and labels, in training mode or not; with masks
     * (null lists for none) at inference, for series of {@code steps} time steps.
     */
    @FunctionalInterface
    private interface Replayer {
        NetworkConverter.Replay replay(List<SDVariable> inputs, Map<String, SDVariable> parameters,
                                       List<SDVariable> labels, boolean training, List<SDVariable> masks,
                                       List<SDVariable> labelMasks, int steps);
    }

    /** The explicit chain of a network in a mode (training or not). */
    @FunctionalInterface
    private interface ChainBuilder {
        ExplicitChain build(boolean training);
    }

    private final MutableGraph graph;
    private final ConvertedNetwork converted;
    private final Replayer replayer;
    private final ChainBuilder chains;
    /** True in DL4J's training mode: batch normalisation from the batch's statistics. */
    private final boolean training;
    /** This network in training mode (this one, if it is), built on first use. */
    private FunctionalNetwork inTraining;
    /** The chain with explicit backward rules, or null when a layer has none ({@link #noBackwardRules} says which). */
    private final ExplicitChain chain;
    private final UnsupportedLayerException noBackwardRules;

    /** The layers of a network with explicit backward rules and the parameters they read. */
    private record ExplicitChain(Map<String, String> parameterVariables, List<ExplicitLayer> layers) {
    }

    private FunctionalNetwork(MutableGraph graph, ConvertedNetwork converted, Replayer replayer, ChainBuilder chains,
                              boolean training) {
        this.graph = graph;
        this.converted = converted;
        this.replayer = replayer;
        this.chains = chains;
        this.training = training;
        this.inTraining = training ? this : null;
        ExplicitChain found = null;
        UnsupportedLayerException why = null;
        try {
            found = chains.build(training);
        } catch (UnsupportedLayerException e) {
            why = e;
        }
        this.chain = found;
        this.noBackwardRules = why;
    }

    /**
     * The functional view of a converted {@code MultiLayerNetwork}.
     *
     * @param conf the network's configuration
     * @param converted the converted network
     * @param graph the graph
     * @return the functional view of a converted {@code MultiLayerNetwork}
     */
    public static FunctionalNetwork of(MultiLayerConfiguration conf, ConvertedNetwork converted, MutableGraph graph) {
        return new FunctionalNetwork(graph, converted, replayer(conf, converted),
                training -> explicitChain(conf, converted, graph, training), false);
    }

    /**
     * The functional view of a converted {@code ComputationGraph}.
     *
     * @param conf the network's configuration
     * @param converted the converted network
     * @param graph the graph
     * @return the functional view of a converted {@code ComputationGraph}
     */
    public static FunctionalNetwork of(ComputationGraphConfiguration conf, ConvertedNetwork converted,
                                       MutableGraph graph) {
        return new FunctionalNetwork(graph, converted, replayer(conf, converted),
                training -> explicitChain(conf, converted, graph, training), false);
    }

    /** The replays of a network's converters: masked when masks are given (null lists for none), else plain. */
    private static Replayer replayer(Object conf, ConvertedNetwork converted) {
        return (inputs, parameters, labels, training, masks, labelMasks, steps) -> {
            if (masks != null || labelMasks != null) {
                return NetworkConverter.replayMasked(conf, converted, inputs, parameters, labels, masks, labelMasks,
                        steps);
            }
            return conf instanceof MultiLayerConfiguration m
                    ? NetworkConverter.replay(m, converted, inputs, parameters, labels, training)
                    : NetworkConverter.replay((ComputationGraphConfiguration) conf, converted, inputs, parameters,
                            labels, training);
        };
    }

    /**
     * This network in DL4J's training mode: batch normalisation normalises by the batch's mean and biased variance
     * (the running statistics are not read, and get zero gradients), and dropout, random in DL4J's training, is
     * refused. Shares this view's graph.
     *
     * @return this network in DL4J's training mode
     */
    public synchronized FunctionalNetwork training() {
        if (inTraining == null) {
            inTraining = new FunctionalNetwork(graph, converted, replayer, chains, true);
        }
        return inTraining;
    }

    /** {@return true in DL4J's training mode ({@link #training()})} */
    public boolean isTraining() {
        return training;
    }

    private static ExplicitChain explicitChain(MultiLayerConfiguration conf, ConvertedNetwork converted,
                                               MutableGraph graph, boolean training) {
        Builder b = new Builder(inputShape(converted, graph),
                graph.sameDiff().getVariable(converted.inputNames().get(0)).dataType(), converted.sequenceLength(),
                training);
        int n = conf.getConfs().size();
        for (int i = 0; i < n; i++) {
            Layer layer = conf.getConf(i).getLayer();
            b.add("Layer " + i + " (" + layer.getClass().getSimpleName() + ")", i + "_", layer,
                    conf.getInputPreProcess(i), conf.getConf(i).isMiniBatch(), i == n - 1);
        }
        return b.build(graph, converted);
    }

    private static ExplicitChain explicitChain(ComputationGraphConfiguration conf, ConvertedNetwork converted,
                                               MutableGraph graph, boolean training) {
        if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
            throw new UnsupportedLayerException(notAChain("it has " + conf.getNetworkInputs().size() + " input(s) and "
                    + conf.getNetworkOutputs().size() + " output(s)"));
        }
        Builder b = new Builder(inputShape(converted, graph),
                graph.sameDiff().getVariable(converted.inputNames().get(0)).dataType(), converted.sequenceLength(),
                training);
        String previous = conf.getNetworkInputs().get(0);
        int visited = 0;
        while (visited < conf.getVertices().size()) {
            String next = null;
            for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
                if (e.getValue().contains(previous)) {
                    if (next != null || e.getValue().size() != 1) {
                        throw new UnsupportedLayerException(notAChain("\"" + previous + "\" feeds several vertices, "
                                + "or vertex \"" + e.getKey() + "\" reads several inputs"));
                    }
                    next = e.getKey();
                }
            }
            if (next == null) {
                throw new UnsupportedLayerException(notAChain("vertex \"" + previous + "\" feeds no vertex but "
                        + "other vertices exist"));
            }
            GraphVertex vertex = conf.getVertices().get(next);
            String description = "Vertex \"" + next + "\" (" + vertex.getClass().getSimpleName() + ")";
            if (!(vertex instanceof LayerVertex)) {
                throw new UnsupportedLayerException(description + " has no explicit backward rule for "
                        + "lossGradients, which has them for the layers " + SUPPORTED_LAYERS + " only.");
            }
            LayerVertex lv = (LayerVertex) vertex;
            Layer layer = lv.getLayerConf().getLayer();
            visited++;
            b.add("Vertex \"" + next + "\" (" + layer.getClass().getSimpleName() + ")", next + "_", layer,
                    lv.getPreProcessor(), lv.getLayerConf().isMiniBatch(), visited == conf.getVertices().size());
            previous = next;
        }
        return b.build(graph, converted);
    }

    /** The per-example shape of the network's (first) input, -1 where unknown; null if its rank is unknown. */
    private static long[] inputShape(ConvertedNetwork converted, MutableGraph graph) {
        long[] shape = graph.sameDiff().getVariable(converted.inputNames().get(0)).placeholderShape();
        return shape == null || shape.length < 2 ? null : Arrays.copyOfRange(shape, 1, shape.length);
    }

    private static String notAChain(String why) {
        return "lossGradients takes a ComputationGraph that is a chain of layers from one input to "
                + "one output; this one is not: " + why + ".";
    }

    /** {@return DL4J's network-level parameter keys, in the network's order} */
    public List<String> parameterKeys() {
        return List.copyOf(converted.parameterVariables().keySet());
    }

    /** {@return true when the network has an output layer, so that {@code #loss} applies} */
    public boolean hasLoss() {
        return converted.lossName() != null;
    }

    /**
     * The network, of one input and one output, applied to {@code input} with the given expressions in place of the
     * named parameters (the others read their current values).
     *
     * @param input the input array
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the network, of one input and one output, applied to {@code input} with the given expressions in place of
     *     the named parameters (the others read their current values)
     * @throws IllegalArgumentException if the network has several inputs or outputs, or an argument is invalid
     */
    public SDVariable forward(SDVariable input, Map<String, SDVariable> parameters) {
        requireOneInputAndOutput("forward");
        return forward(Collections.singletonList(input), parameters).get(0);
    }

    /**
     * The network applied to {@code inputs}, one per network input, with the given expressions in place of the named
     * parameters; one expression per network output.
     *
     * @param inputs the input arrays, in the network's input order
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the network applied to {@code inputs}, one per network input, with the given expressions in place of the
     *     named parameters; one expression per network output
     * @throws IllegalArgumentException if an argument is invalid (see {@link #checkArguments})
     */
    public List<SDVariable> forward(List<SDVariable> inputs, Map<String, SDVariable> parameters) {
        checkArguments(inputs, null, parameters);
        return outputs(inputs, parameters, null, -1);
    }

    /** The replayed outputs (with masks, null for none, over {@code steps} time steps), named in a fresh scope. */
    private List<SDVariable> outputs(List<SDVariable> inputs, Map<String, SDVariable> parameters,
                                     List<SDVariable> masks, int steps) {
        return build("forward", () -> {
            List<SDVariable> outputs = replayer.replay(inputs, values(parameters), nulls(), training, masks, null,
                    steps).outputs();
            List<SDVariable> named = new ArrayList<>();
            for (int i = 0; i < outputs.size(); i++) {
                named.add(name(outputs.get(i), outputs.size() == 1 ? "output" : converted.outputNames().get(i)));
            }
            return Collections.unmodifiableList(named);
        });
    }

    /**
     * The score of {@link #forward} against {@code labels}, at the converted graph's convention (DL4J's loss
     * averaged over the minibatch, without regularisation).
     *
     * @param input the input array
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the score of {@code #forward} against {@code labels}, at the converted graph's convention (DL4J's loss
     *     averaged over the minibatch, without regularisation)
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the network has several inputs or outputs, or an argument is invalid
     */
    public SDVariable loss(SDVariable input, SDVariable labels, Map<String, SDVariable> parameters) {
        requireLoss();
        requireOneInputAndOutput("loss");
        return loss(Collections.singletonList(input), Collections.singletonList(labels), parameters);
    }

    /**
     * The score of {@link #forward(List, Map)} against {@code labels}, one per network output (null for an output
     * without an output layer): the sum of the output layers' scores, as the converted graph's score.
     *
     * @param inputs the input arrays, in the network's input order
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the score of {@code #forward(List, Map)} against {@code labels}, one per network output (null for an
     *     output without an output layer): the sum of the output layers' scores, as the converted graph's score
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if an argument is invalid
     */
    public SDVariable loss(List<SDVariable> inputs, List<SDVariable> labels, Map<String, SDVariable> parameters) {
        requireLoss();
        Objects.requireNonNull(labels, "labels");
        checkArguments(inputs, labels, parameters);
        return build("loss", () -> name(replayer.replay(inputs, values(parameters), labels, training, null, null, -1)
                .loss(), "loss"));
    }

    /**
     * {@link #forward(List, Map)} for variable-length time series: each input's features mask ([N, T] of 0 and 1, an
     * expression of this graph; null for an input without one) reaches the layers as in
     * {@code MutableNetwork.output(inputs, masks, null)}, at DL4J's inference semantics.
     *
     * @param inputs     the inputs, in the network's input order
     * @param masks      one features mask per input, null entries for none
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return one expression per network output
     * @throws IllegalArgumentException  if an argument or mask is invalid (a mask of another graph, type or rank, for
     *                                   an input that is no series, or of unknown length), or in a training view
     * @throws UnsupportedLayerException if a layer the mask reaches cannot take it; the graph is then unchanged
     */
    public List<SDVariable> forward(List<SDVariable> inputs, List<SDVariable> masks,
                                    Map<String, SDVariable> parameters) {
        checkArguments(inputs, null, parameters);
        int steps = checkMasks(inputs, masks, null);
        return outputs(inputs, parameters, anyGiven(masks) ? masks : null, steps);
    }

    /**
     * {@link #forward(List, List, Map)} of a network with one input and one output.
     *
     * @param input      the input
     * @param mask       the features mask, or null
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the output
     * @throws IllegalArgumentException if the network has several inputs or outputs, or as the list version
     */
    public SDVariable forward(SDVariable input, SDVariable mask, Map<String, SDVariable> parameters) {
        requireOneInputAndOutput("forward");
        return forward(Collections.singletonList(input), Collections.singletonList(mask), parameters).get(0);
    }

    /**
     * {@link #loss(List, List, List, List, Map)} of a network with one input and one output.
     *
     * @param input      the input
     * @param labels     the labels
     * @param mask       the features mask, or null
     * @param labelMask  the labels mask, or null
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the scalar score
     * @throws IllegalStateException    if the network has no output layer
     * @throws IllegalArgumentException if the network has several inputs or outputs, or as the list version
     */
    public SDVariable loss(SDVariable input, SDVariable labels, SDVariable mask, SDVariable labelMask,
                           Map<String, SDVariable> parameters) {
        requireLoss();
        requireOneInputAndOutput("loss");
        return loss(Collections.singletonList(input), Collections.singletonList(labels),
                Collections.singletonList(mask), Collections.singletonList(labelMask), parameters);
    }

    /**
     * {@link #loss(List, List, Map)} for variable-length time series, with features masks (as
     * {@link #forward(List, List, Map)}) and labels masks per time step ([N, T], null entries for none): the score
     * {@code MutableNetwork.score} gives for a {@code MultiDataSet} with those masks.
     *
     * @param inputs     the inputs, in the network's input order
     * @param labels     the labels, one per output (null for an output not to score)
     * @param masks      one features mask per input, null entries (or a null list) for none
     * @param labelMasks one labels mask per output, null entries (or a null list) for none
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the scalar score
     * @throws IllegalStateException     if the network has no output layer
     * @throws IllegalArgumentException  if an argument or mask is invalid, or in a training view
     * @throws UnsupportedLayerException if a layer the mask reaches cannot take it; the graph is then unchanged
     */
    public SDVariable loss(List<SDVariable> inputs, List<SDVariable> labels, List<SDVariable> masks,
                           List<SDVariable> labelMasks, Map<String, SDVariable> parameters) {
        requireLoss();
        Objects.requireNonNull(labels, "labels");
        checkArguments(inputs, labels, parameters);
        List<SDVariable> features = masks == null ? Collections.nCopies(inputs.size(), null) : masks;
        List<SDVariable> scored = labelMasks == null ? nulls() : labelMasks;
        int steps = checkMasks(inputs, features, scored);
        boolean masked = anyGiven(features) || anyGiven(scored);
        return build("loss", () -> name(replayer.replay(inputs, values(parameters), labels, training,
                masked ? features : null, masked ? scored : null, steps).loss(), "loss"));
    }

    /**
     * Checks masks as {@code MutableNetwork}'s masked calls check their arrays, as far as expressions tell: of this
     * graph, of the inputs' data type, rank 2, for series inputs; returns the number of time steps, from the features
     * masks' shapes, else the conversion's sequence length.
     */
    private int checkMasks(List<SDVariable> inputs, List<SDVariable> masks, List<SDVariable> labelMasks) {
        Objects.requireNonNull(masks, "masks");
        if (training && (anyGiven(masks) || labelMasks != null && anyGiven(labelMasks))) {
            throw new IllegalArgumentException("Masks are applied at DL4J's inference semantics; this is a training "
                    + "view (functional().training()): use the network's own functional view.");
        }
        if (masks.size() != inputs.size()) {
            throw new IllegalArgumentException("Got " + masks.size() + " features mask(s); this network has "
                    + inputs.size() + " input(s): " + converted.inputNames() + " (null entries for none).");
        }
        if (labelMasks != null && labelMasks.size() != converted.outputNames().size()) {
            throw new IllegalArgumentException("Got " + labelMasks.size() + " labels mask(s); this network has "
                    + converted.outputNames().size() + " output(s): " + converted.outputNames()
                    + " (null entries for none).");
        }
        int steps = -1;
        SameDiff sd = graph.sameDiff();
        for (int i = 0; i < masks.size(); i++) {
            SDVariable m = masks.get(i);
            if (m == null) {
                continue;
            }
            long[] shape = sd.getVariable(converted.inputNames().get(i)).placeholderShape();
            if (shape == null || shape.length != 3) {
                throw new IllegalArgumentException("A features mask was given for input \"" + converted.inputNames()
                        .get(i) + "\", which is no time series ([N, n, T]).");
            }
            checkMask("The features mask \"" + m.name() + "\"", m, inputs.get(i).dataType());
            steps = Math.max(steps, knownSteps(m));
        }
        if (labelMasks != null) {
            for (int k = 0; k < labelMasks.size(); k++) {
                SDVariable m = labelMasks.get(k);
                if (m != null) {
                    checkMask("The labels mask \"" + m.name() + "\"", m, inputs.get(0).dataType());
                }
            }
        }
        if (steps < 0 && converted.sequenceLength() > 0) {
            steps = converted.sequenceLength();
        }
        if (steps < 0 && anyGiven(masks)) {
            // (a labels mask alone needs no length: the series' layers then run as unmasked)
            throw new IllegalArgumentException("The masks' number of time steps is not known from their shapes or the "
                    + "inputs': give a mask expression of known shape [N, T] (a placeholder of shape [-1, T]).");
        }
        return steps;
    }

    private void checkMask(String what, SDVariable m, DataType type) {
        if (m.getSameDiff() != graph.sameDiff() || !graph.sameDiff().hasVariable(m.name())) {
            throw new IllegalArgumentException(what + " belongs to another SameDiff graph; it must be an expression "
                    + "of this network's graph (graph().sameDiff()).");
        }
        if (m.dataType() != type) {
            throw new IllegalArgumentException(what + " has data type " + m.dataType() + "; expected " + type + ".");
        }
        long[] shape = m.getShape();
        if (shape != null && shape.length != 2) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(shape) + "; masks of functional "
                    + "calls are [N, T] (one value per example and time step).");
        }
    }

    /** True if a list holds any expression. */
    private static boolean anyGiven(List<SDVariable> masks) {
        return masks.stream().anyMatch(Objects::nonNull);
    }

    /** The mask's number of time steps if its shape tells it, else -1. */
    private static int knownSteps(SDVariable mask) {
        long[] shape = mask.getShape();
        return shape != null && shape.length == 2 && shape[1] > 0 ? (int) shape[1] : -1;
    }

    /**
     * The gradients of {@link #loss} with respect to every parameter of the network (the named ones at the given
     * expressions, the others at their current values), keyed by network-level key in the layers' order, as graph
     * expressions built from explicit backward rules.
     *
     * @param input the input array
     * @param labels the labels
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the gradients of {@code #loss} with respect to every parameter of the network (the named ones at the
     *     given expressions, the others at their current values), keyed by network-level key in the layers' order, as
     *     graph expressions built from explicit backward rules
     * @throws IllegalStateException    if the network does not end with an output layer
     * @throws IllegalArgumentException if an argument is invalid
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels,
                                                 Map<String, SDVariable> parameters) {
        return lossGradients(input, labels, null, null, parameters);
    }

    /**
     * {@link #lossGradients(SDVariable, SDVariable, Map)} of {@link #loss(SDVariable, SDVariable, SDVariable,
     * SDVariable, Map)}, the score of a masked series: the explicit rules with DL4J's masks.
     *
     * @param input      the input
     * @param labels     the labels
     * @param mask       the features mask [N, T], or null
     * @param labelMask  the labels mask [N, T] of an {@code RnnOutputLayer}, or null
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @return the gradients, keyed by network-level key in the layers' order
     * @throws IllegalStateException     if the network does not end with an output layer
     * @throws IllegalArgumentException  if an argument or mask is invalid, or a labels mask is given for an output
     *                                   that is no {@code RnnOutputLayer}
     * @throws UnsupportedLayerException if a layer has no explicit rule, or none with the mask that reaches it
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels, SDVariable mask,
                                                 SDVariable labelMask, Map<String, SDVariable> parameters) {
        requireLoss();
        ExplicitChain explicit = explicitChain();
        checkArguments(Collections.singletonList(input), Collections.singletonList(labels), parameters);
        checkMasks(Collections.singletonList(input), Collections.singletonList(mask),
                Collections.singletonList(labelMask));
        List<ExplicitLayer> layers = explicit.layers();
        int lastIndex = layers.size() - 1;
        TimeRowsRule steps = lastIndex > 0 && layers.get(lastIndex - 1) instanceof TimeRowsRule rows ? rows : null;
        if (labelMask != null && steps == null) {
            throw new IllegalArgumentException("A labels mask was given, but the network's output layer, "
                    + layers.get(lastIndex).description() + ", scores no time steps: labels masks of lossGradients "
                    + "are an RnnOutputLayer's [N, T].");
        }
        return build("lossGradients", () -> {
            Map<String, SDVariable> values = values(parameters);
            List<ExplicitLayer.Pass> passes = forwardPasses(layers, input, values, mask);
            FunctionalLayer last = (FunctionalLayer) layers.get(lastIndex);
            ExplicitLayer.Pass lastPass = passes.get(lastIndex);
            DifferentiableLoss loss = last.loss();
            SDVariable scale = loss.scale(labels);       // 1 / N: an RnnOutputLayer's score too sums over time
            SDVariable y = steps != null ? steps.labelRows(labels) : labels;
            SDVariable dz = loss.fusesWithSoftmax() && last.activation().isSoftmax()
                    ? loss.softmaxGradient(lastPass.output(), y, scale)
                    : last.preActivationGradient(lastPass, loss.gradient(lastPass.output(), y, scale));
            if (labelMask != null) {
                dz = dz.mul(steps.maskRows(labelMask));  // DL4J scores the steps the labels mask keeps
            }
            int first = firstLayerWithParameters(layers);
            Map<String, SDVariable> reversed = new LinkedHashMap<>();
            SDVariable gradient = last.backwardFromPreActivation(lastPass, dz, values, lastIndex > first, reversed);
            for (int i = lastIndex - 1; i >= first; i--) {
                gradient = layers.get(i).backward(passes.get(i), gradient, values, i > first, reversed);
            }
            Map<String, SDVariable> gradients = new LinkedHashMap<>();
            for (String key : explicit.parameterVariables().keySet()) {
                gradients.put(key, name(reversed.get(key), "grad/" + key));
            }
            return Collections.unmodifiableMap(gradients);
        });
    }

    private static int firstLayerWithParameters(List<ExplicitLayer> layers) {
        for (int i = 0; i < layers.size(); i++) {
            if (!layers.get(i).parameterKeys().isEmpty()) {
                return i;
            }
        }
        return layers.size() - 1;
    }

    private static List<ExplicitLayer.Pass> forwardPasses(List<ExplicitLayer> layers, SDVariable input,
                                                          Map<String, SDVariable> values, SDVariable mask) {
        List<ExplicitLayer.Pass> passes = new ArrayList<>();
        SDVariable x = input;
        long[] shape = knownExampleShape(input);
        SDVariable reaching = mask;
        for (ExplicitLayer layer : layers) {
            ExplicitLayer.Pass pass = layer.forward(x, shape, values, reaching);
            reaching = layer.maskAfter(reaching);
            passes.add(pass);
            x = pass.output();
            shape = pass.outputShape();
        }
        return passes;
    }

    /** The per-example shape of {@code input} if its every size but the first is known, else null. */
    static long[] knownExampleShape(SDVariable input) {
        long[] shape = input.getShape();
        if (shape == null || shape.length < 2) {
            return null;
        }
        long[] example = Arrays.copyOfRange(shape, 1, shape.length);
        return Arrays.stream(example).allMatch(v -> v > 0) ? example : null;
    }

    /** No labels: one null per network output. */
    private List<SDVariable> nulls() {
        return Collections.nCopies(converted.outputNames().size(), null);
    }

    /** The chain with explicit backward rules, or the exception naming the first layer without one. */
    private ExplicitChain explicitChain() {
        if (chain == null) {
            throw noBackwardRules;
        }
        return chain;
    }

    /**
     * The value of every parameter: the given expression, or the parameter's current value. That is the variable
     * named as the parameter, whether it has its slot yet or not (one it never had keeps costing nothing; if it gets
     * one later, this expression is moved onto it with every other reader).
     */
    private Map<String, SDVariable> values(Map<String, SDVariable> given) {
        Map<String, SDVariable> values = new LinkedHashMap<>();
        converted.parameterVariables().forEach((key, variable) ->
                values.put(key, given.containsKey(key) ? given.get(key) : graph.sameDiff().getVariable(variable)));
        return values;
    }

    /**
     * Runs {@code body} in a fresh name scope ({@code functional/}, {@code functional_1/}, ...); on any exception
     * removes whatever it added.
     */
    private <T> T build(String what, Supplier<T> body) {
        SameDiff sd = graph.sameDiff();
        GraphEdits.Snapshot rollback = GraphEdits.snapshot(sd);
        NameScope scope = sd.withNameScope(freeScope(sd, what));
        boolean built = false;
        try {
            T result = body.get();
            built = true;
            return result;
        } finally {
            scope.close();
            if (!built) {
                rollback.rollback();
            }
        }
    }

    private static String freeScope(SameDiff sd, String base) {
        Set<String> taken = new HashSet<>();
        for (String name : sd.getVariables().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0) {
                taken.add(name.substring(0, slash));
            }
        }
        String scope = base;
        for (int i = 1; taken.contains(scope) || sd.hasVariable(scope); i++) {
            scope = base + "_" + i;
        }
        return scope;
    }

    /** Renames {@code v} to {@code <scope>/<name>} when that name is free (a variable produced by this call). */
    private static SDVariable name(SDVariable v, String name) {
        SameDiff sd = v.getSameDiff();
        String scope = sd.currentNameScope();
        String full = scope == null ? name : scope + "/" + name;
        if (v.name().startsWith(scope == null ? "" : scope + "/") && !sd.hasVariable(full)) {
            sd.renameVariable(v.name(), full);
            return sd.getVariable(full);
        }
        return v;
    }

    private void requireLoss() {
        if (!hasLoss()) {
            throw new IllegalStateException("The network does not end with an output layer, so it has no loss.");
        }
    }

    private void requireOneInputAndOutput(String call) {
        if (converted.inputNames().size() != 1 || converted.outputNames().size() != 1) {
            throw new IllegalArgumentException("This network has " + converted.inputNames().size() + " input(s) "
                    + converted.inputNames() + " and " + converted.outputNames().size() + " output(s) "
                    + converted.outputNames() + "; call " + call + " with a list of inputs"
                    + ("loss".equals(call) ? " and a list of labels." : "."));
        }
    }

    /**
     * Checks, before anything is added to the graph: one input per network input (and, for a score, one labels
     * entry per output, null where an output is not scored, at least one given, and only for outputs with an output
     * layer), each an expression of this graph with the data type of the network's own placeholder and, where both
     * are known, its shape; every key of {@code parameters} is a parameter of the network, and its expression belongs
     * to this graph, has the parameter's data type and, where known, its shape.
     *
     * @throws IllegalArgumentException naming the argument or key at fault
     */
    private void checkArguments(List<SDVariable> inputs, List<SDVariable> labels, Map<String, SDVariable> parameters) {
        Objects.requireNonNull(inputs, "inputs");
        Objects.requireNonNull(parameters, "parameters");
        SameDiff sd = graph.sameDiff();
        List<String> inputNames = converted.inputNames();
        if (inputs.size() != inputNames.size()) {
            throw new IllegalArgumentException("Got " + inputs.size() + " input expression(s); this network has "
                    + inputNames.size() + " input(s): " + inputNames + ".");
        }
        for (int i = 0; i < inputs.size(); i++) {
            SDVariable input = Objects.requireNonNull(inputs.get(i), "input");
            SDVariable own = sd.getVariable(inputNames.get(i));
            checkExpression("The input \"" + input.name() + "\"", input, own.dataType(), own.placeholderShape());
        }
        if (labels != null) {
            List<String> outputs = converted.outputNames();
            if (labels.size() != outputs.size()) {
                throw new IllegalArgumentException("Got " + labels.size() + " labels expression(s); this network has "
                        + outputs.size() + " output(s): " + outputs + " (give null for an output not to score).");
            }
            boolean scored = false;
            for (int i = 0; i < labels.size(); i++) {
                SDVariable given = labels.get(i);
                if (given == null) {
                    continue;
                }
                String own = converted.labelNames().get(i);
                if (own == null) {
                    throw new IllegalArgumentException("Labels were given for output \"" + outputs.get(i) + "\", "
                            + "which has no output layer to score them; give null for it.");
                }
                SDVariable placeholder = sd.getVariable(own);
                checkExpression("The labels \"" + given.name() + "\"", given, placeholder.dataType(),
                        placeholder.placeholderShape());
                scored = true;
            }
            if (!scored) {
                throw new IllegalArgumentException("No labels were given: a score needs the labels of at least one "
                        + "output layer.");
            }
        }
        Map<String, String> parameterVariables = converted.parameterVariables();
        for (Map.Entry<String, SDVariable> e : parameters.entrySet()) {
            String key = e.getKey();
            String variable = key == null ? null : parameterVariables.get(key);
            if (variable == null) {
                throw new IllegalArgumentException("No parameter with key \"" + key + "\" exists in this network. "
                        + "Known keys: " + parameterVariables.keySet() + ".");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("The expression for parameter \"" + key + "\" is null.");
            }
            long[] expected = graph.param(variable).shape();
            checkExpression("The expression \"" + e.getValue().name() + "\" for parameter \"" + key + "\"",
                    e.getValue(), graph.param(variable).dataType(), expected);
        }
    }

    private void checkExpression(String what, SDVariable v, DataType type, long[] expected) {
        SameDiff sd = graph.sameDiff();
        if (v.getSameDiff() != sd || !sd.hasVariable(v.name())) {
            throw new IllegalArgumentException(what + " belongs to another SameDiff graph; it must be an expression "
                    + "of this network's graph (graph().sameDiff()).");
        }
        if (v.dataType() != type) {
            throw new IllegalArgumentException(what + " has data type " + v.dataType() + "; expected " + type + ".");
        }
        long[] shape = v.getShape();
        if (shape == null || expected == null) {
            return;
        }
        boolean matches = shape.length == expected.length;
        for (int d = 0; matches && d < shape.length; d++) {
            matches = shape[d] < 0 || expected[d] < 0 || shape[d] == expected[d];
        }
        if (!matches) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(shape) + "; expected "
                    + Arrays.toString(expected).replace("-1", "any") + ".");
        }
    }

    /** Collects the layers of a chain and checks each has an explicit backward rule. */
    private static final class Builder {
        private final List<ExplicitLayer> layers = new ArrayList<>();
        /** The per-example shape of the current activations, in the layers' format; null where not known. */
        private long[] shape;
        /** The rank of the current activations (examples included), 0 where not known. */
        private int rank;

        /** The network's data type. */
        private final DataType dataType;
        /** The conversion's number of time steps, -1 if it has none. */
        private final int sequenceLength;
        /** True in training mode: batch statistics, dropout refused. */
        private final boolean training;

        Builder(long[] inputShape, DataType dataType, int sequenceLength, boolean training) {
            this.shape = inputShape;
            this.rank = inputShape == null ? 0 : inputShape.length + 1;
            this.dataType = dataType;
            this.sequenceLength = sequenceLength;
            this.training = training;
        }

        /** The width of feed-forward activations (-1 for others or unknown): what a softmax needs. */
        private long width() {
            return shape != null && shape.length == 1 ? shape[0] : -1;
        }

        void add(String description, String keyPrefix, Layer layer, InputPreProcessor preProcessor, boolean miniBatch,
                 boolean last) {
            if (preProcessor != null) {
                addPreProcessor(description, preProcessor);
            }
            Class<?> type = layer.getClass();
            if (training && (type == DropoutLayer.class || layer.getIDropout() != null)) {
                throw new UnsupportedLayerException(description + " has dropout, which is random in DL4J's training "
                        + "and so not a function of the parameters; the training mode refuses it (the inference "
                        + "mode applies none).");
            }
            if (type == DenseLayer.class || type == OutputLayer.class) {
                FeedForwardLayer ff = (FeedForwardLayer) layer;
                if (type == DenseLayer.class && ((DenseLayer) layer).hasLayerNorm()) {
                    throw new UnsupportedLayerException(description + " uses layer normalisation, which has no "
                            + "explicit backward rule. Supported: DenseLayer without layer norm.");
                }
                if ((shape != null && shape.length != 1) || rank > 2) {
                    throw new UnsupportedLayerException(description + " reads activations of rank " + rank
                            + " without a pre-processor to flatten them.");
                }
                boolean hasBias = type == DenseLayer.class ? ((DenseLayer) layer).hasBias()
                        : ((OutputLayer) layer).hasBias();
                DifferentiableLoss loss = null;
                if (type == OutputLayer.class && last) {
                    OutputLayer out = (OutputLayer) layer;
                    loss = DifferentiableLoss.of(out.getLossFn(), miniBatch, ff.getNOut());
                    if (loss == null) {
                        throw new UnsupportedLayerException(description + " uses the loss function "
                                + out.getLossFn() + ", which has no explicit gradient. Supported: "
                                + String.join(", ", DifferentiableLoss.SUPPORTED) + ".");
                    }
                }
                shape = new long[] {ff.getNOut()};
                rank = 2;
                layers.add(new FunctionalLayer(description, keyPrefix, true, hasBias, 2,
                        activation(description, ((BaseLayer) layer).getActivationFn()), width(), loss));
            } else if (type == RnnOutputLayer.class) {
                RnnOutputLayer out = (RnnOutputLayer) layer;
                if (!last || rank != 3) {
                    throw new UnsupportedLayerException(description + (last ? " reads activations of rank "
                            + (rank == 0 ? "unknown" : String.valueOf(rank)) + "; lossGradients needs time series "
                            + "(rank 3) there." : " is not the network's last layer; lossGradients needs it last."));
                }
                boolean nwc = out.getRnnDataFormat() == RNNFormat.NWC;
                DifferentiableLoss loss = DifferentiableLoss.of(out.getLossFn(), miniBatch, out.getNOut());
                if (loss == null) {
                    throw new UnsupportedLayerException(description + " uses the loss function " + out.getLossFn()
                            + ", which has no explicit gradient. Supported: "
                            + String.join(", ", DifferentiableLoss.SUPPORTED) + ".");
                }
                layers.add(new TimeRowsRule(description + " time steps as rows", out.getNIn(), out.getNOut(), nwc));
                shape = new long[] {out.getNOut()};
                rank = 2;
                layers.add(new FunctionalLayer(description, keyPrefix, true, out.hasBias(), 2,
                        activation(description, out.getActivationFn()), width(), loss));
            } else if (type == SimpleRnn.class || type == LSTM.class || (type == LastTimeStep.class
                    && (((LastTimeStep) layer).getUnderlying().getClass() == SimpleRnn.class
                    || ((LastTimeStep) layer).getUnderlying().getClass() == LSTM.class))) {
                addRecurrent(description, keyPrefix, layer);
            } else if (type == ActivationLayer.class) {
                layers.add(new FunctionalLayer(description, keyPrefix, false, false, 0,
                        activation(description, ((ActivationLayer) layer).getActivationFn()), width(), null));
            } else if (type == DropoutLayer.class) {
                layers.add(new FunctionalLayer(description, keyPrefix, false, false, 0,
                        DifferentiableActivation.of(null), width(), null));
            } else if (type == ConvolutionLayer.class || type == Convolution2D.class) {
                ConvolutionLayer conv = (ConvolutionLayer) layer;
                DifferentiableActivation a = activation(description, conv.getActivationFn());
                if (a.isSoftmax()) {
                    throw new UnsupportedLayerException(description + " uses a softmax activation, which has no "
                            + "explicit backward rule on a convolution's output.");
                }
                layers.add(ConvolutionRule.of(description, keyPrefix, conv, a));
                shape = null;
                rank = 4;
            } else if (type == SubsamplingLayer.class) {
                SubsamplingLayer pool = (SubsamplingLayer) layer;
                if (pool.getPoolingType() != PoolingType.MAX && pool.getPoolingType() != PoolingType.AVG) {
                    throw new UnsupportedLayerException(description + " pools by " + pool.getPoolingType()
                            + "; lossGradients has explicit backward rules for MAX and AVG pooling.");
                }
                int[] k = pool.getKernelSize();
                int[] s = pool.getStride();
                int[] p = pool.getPadding();
                int[] d = pool.getDilation();
                ConvolutionMode mode = Window2d.mode(description, pool.getConvolutionMode());
                layers.add(new PoolingRule(description, Window2d.of(description, k[0], s[0], p[0], d[0], mode),
                        Window2d.of(description, k[1], s[1], p[1], d[1], mode),
                        pool.getCnn2dDataFormat() == CNN2DFormat.NHWC, pool.getPoolingType() == PoolingType.MAX,
                        pool.isAvgPoolIncludePadInDivisor()));
                shape = null;
                rank = 4;
            } else if (type == EmbeddingLayer.class) {
                EmbeddingLayer embedding = (EmbeddingLayer) layer;
                if (!layers.isEmpty()) {
                    throw new UnsupportedLayerException(description + " reads indices produced by another layer; "
                            + "lossGradients needs an EmbeddingLayer first, reading the network's input.");
                }
                layers.add(new OneHotRule(description + " indices", embedding.getNIn(), dataType));
                shape = new long[] {embedding.getNOut()};
                rank = 2;
                layers.add(new FunctionalLayer(description, keyPrefix, true, embedding.hasBias(), 2,
                        activation(description, embedding.getActivationFn()), width(), null));
            } else if (type == BatchNormalization.class) {
                BatchNormalization bn = (BatchNormalization) layer;
                if (rank < 2 || rank > 4) {
                    throw new UnsupportedLayerException(description + " normalises activations of unknown rank; "
                            + "lossGradients needs rank 2, 3 or 4 there.");
                }
                if (training && rank == 3) {
                    throw new UnsupportedLayerException(description + " normalises time series; in training mode "
                            + "DL4J's own batch normalisation takes rank-3 activations otherwise (its examples as "
                            + "channels), so lossGradients refuses them there (inference mode supports them).");
                }
                int channelAxis = rank == 4 && bn.getCnn2DFormat() == CNN2DFormat.NHWC ? 3 : 1;
                layers.add(new BatchNormRule(description, keyPrefix, rank, channelAxis, bn.getEps(),
                        bn.isUseLogStd(), bn.isLockGammaBeta() ? bn.getGamma() : Double.NaN, bn.getBeta(), training,
                        null));
            } else if (type == GlobalPoolingLayer.class) {
                GlobalPoolingLayer pool = (GlobalPoolingLayer) layer;
                PoolingType pooling = pool.getPoolingType();
                if (pooling != PoolingType.AVG && pooling != PoolingType.SUM && pooling != PoolingType.MAX) {
                    throw new UnsupportedLayerException(description + " pools by " + pooling + "; lossGradients has "
                            + "explicit backward rules for global AVG, SUM and MAX pooling.");
                }
                int[] axes = pool.getPoolingDimensions();
                if (axes == null && (rank == 3 || rank == 4)) {
                    axes = rank == 3 ? new int[] {2} : new int[] {2, 3};
                } else if (axes == null) {
                    throw new UnsupportedLayerException(description + " pools activations of unknown rank; "
                            + "lossGradients needs rank 3 (time series) or 4 (images) there.");
                }
                axes = Arrays.stream(axes).sorted().toArray();
                if (rank == 0 || axes[axes.length - 1] >= rank || axes[0] < 1) {
                    throw new UnsupportedLayerException(description + " pools axes " + Arrays.toString(axes)
                            + " of activations of rank " + (rank == 0 ? "unknown" : String.valueOf(rank))
                            + "; lossGradients needs axes after the examples' within the known rank.");
                }
                layers.add(new GlobalPoolingRule(description, rank, axes, pooling, pool.isCollapseDimensions()));
                if (pool.isCollapseDimensions()) {
                    rank -= axes.length;
                    shape = rank == 2 ? new long[] {-1} : null;
                } else {
                    shape = null;
                }
            } else {
                throw new UnsupportedLayerException(description + " cannot be used by lossGradients, "
                        + "which has explicit backward rules for " + SUPPORTED_LAYERS + " only.");
            }
        }

        /** A SimpleRnn or LSTM, possibly inside LastTimeStep. */
        private void addRecurrent(String description, String keyPrefix, Layer layer) {
            boolean lastStepOnly = layer instanceof LastTimeStep;
            BaseRecurrentLayer rnn = (BaseRecurrentLayer) (lastStepOnly ? ((LastTimeStep) layer).getUnderlying()
                    : layer);
            if (rnn instanceof SimpleRnn simple && simple.hasLayerNorm()) {
                throw new UnsupportedLayerException(description + " uses layer normalisation, which has no explicit "
                        + "backward rule. Supported: SimpleRnn without layer norm.");
            }
            if (training && rnn.getIDropout() != null) {
                throw new UnsupportedLayerException(description + " has dropout, which is random in DL4J's training "
                        + "and so not a function of the parameters; the training mode refuses it (the inference "
                        + "mode applies none).");
            }
            if (rnn.getWeightNoise() != null) {
                throw new UnsupportedLayerException(description + " has weight noise, which lossGradients does not "
                        + "apply.");
            }
            if (rank != 3) {
                throw new UnsupportedLayerException(description + " reads activations of rank "
                        + (rank == 0 ? "unknown" : String.valueOf(rank)) + "; lossGradients needs time series "
                        + "(rank 3) there.");
            }
            boolean nwc = rnn.getRnnDataFormat() == RNNFormat.NWC;
            long known = shape == null ? -1 : shape[nwc ? 0 : 1];
            int steps = known > 0 ? (int) known : Math.max(0, sequenceLength);
            DifferentiableActivation f = activation(description, rnn.getActivationFn());
            DifferentiableActivation gate = rnn instanceof LSTM lstm ? activation(description,
                    lstm.getGateActivationFn()) : null;
            if (f.isSoftmax() || (gate != null && gate.isSoftmax())) {
                throw new UnsupportedLayerException(description + " uses a softmax activation, which has no "
                        + "explicit backward rule inside a recurrent layer.");
            }
            layers.add(new RecurrentRule(description, keyPrefix, rnn.getNIn(), rnn.getNOut(), gate != null, nwc,
                    steps, f, gate, lastStepOnly));
            long t = steps > 0 ? steps : -1;
            shape = lastStepOnly ? new long[] {rnn.getNOut()} : nwc ? new long[] {t, rnn.getNOut()}
                    : new long[] {rnn.getNOut(), t};
            rank = lastStepOnly ? 2 : 3;
        }

        private void addPreProcessor(String description, InputPreProcessor preProcessor) {
            if (preProcessor instanceof RnnToFeedForwardPreProcessor && rank == 2) {
                return;         // DL4J passes rank-2 activations through (after global pooling or LastTimeStep)
            }
            if (preProcessor instanceof CnnToFeedForwardPreProcessor c) {
                shape = new long[] {c.getInputHeight() * c.getInputWidth() * c.getNumChannels()};
                rank = 2;
            } else if (preProcessor instanceof FeedForwardToCnnPreProcessor c) {
                shape = new long[] {c.getNumChannels(), c.getInputHeight(), c.getInputWidth()};
                rank = 4;
            } else {
                throw new UnsupportedLayerException(description + " has the input pre-processor "
                        + preProcessor.getClass().getSimpleName() + ", which lossGradients does not apply. "
                        + "Supported: CnnToFeedForwardPreProcessor, FeedForwardToCnnPreProcessor, and "
                        + "RnnToFeedForwardPreProcessor on rank-2 activations (which it passes through).");
            }
            layers.add(new ReshapeRule(description + " pre-processor " + preProcessor.getClass().getSimpleName(),
                    shape.clone()));
        }

        private DifferentiableActivation activation(String description, IActivation fn) {
            DifferentiableActivation a = DifferentiableActivation.of(fn);
            if (a == null || (a.isSoftmax() && width() < 0)) {
                throw new UnsupportedLayerException(description + " uses the activation " + fn + ", which has no "
                        + "explicit backward rule" + (a == null ? "" : " before the width is known") + ". Supported: "
                        + String.join(", ", DifferentiableActivation.SUPPORTED) + ".");
            }
            return a;
        }

        ExplicitChain build(MutableGraph graph, ConvertedNetwork converted) {
            if (layers.stream().allMatch(l -> l.parameterKeys().isEmpty())) {
                throw new UnsupportedLayerException("lossGradients needs a network with at least "
                        + "one layer with parameters.");
            }
            ExplicitLayer end = layers.get(layers.size() - 1);
            if (!(end instanceof FunctionalLayer output) || output.loss() == null) {
                throw new UnsupportedLayerException(end.description() + " ends the network; lossGradients needs "
                        + "an OutputLayer there.");
            }
            Map<String, String> variables = new LinkedHashMap<>();
            List<ExplicitLayer> resolved = new ArrayList<>();
            for (ExplicitLayer layer : layers) {
                for (String key : layer.parameterKeys()) {
                    variables.put(key, variable(converted, key));
                }
                if (layer instanceof FunctionalLayer f && f.hasBias()) {
                    layer = new FunctionalLayer(f.description(), f.keyPrefix(), true, true,
                            graph.param(variables.get(f.biasKey())).shape().length, f.activation(), f.width(),
                            f.loss());
                } else if (layer instanceof ConvolutionRule c && c.hasBias()) {
                    layer = c.withBiasShape(graph.param(variables.get(c.biasKey())).shape());
                } else if (layer instanceof BatchNormRule b) {
                    Map<String, long[]> shapes = new LinkedHashMap<>();
                    b.parameterKeys().forEach(k -> shapes.put(k, graph.param(variables.get(k)).shape()));
                    layer = b.withShapes(shapes);
                }
                resolved.add(layer);
            }
            return new ExplicitChain(Collections.unmodifiableMap(variables), List.copyOf(resolved));
        }

        private static String variable(ConvertedNetwork converted, String key) {
            String v = converted.parameterVariables().get(key);
            if (v == null) {
                throw new IllegalStateException("The converted graph has no parameter \"" + key + "\".");
            }
            return v;
        }
    }
}
