package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;

/**
 * Converts a DL4J {@link MultiLayerNetwork} or {@link ComputationGraph} into one SameDiff graph, vertex by vertex in
 * topological order ({@link NetworkDag}), at DL4J's inference semantics. Internal to the adapter; use
 * {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class NetworkConverter {

    private NetworkConverter() {
    }

    /** {@return the names of the supported DL4J layer classes} */
    public static List<String> supportedLayers() {
        return LayerConverters.supported();
    }

    /** {@return the names of the supported DL4J graph vertex classes} */
    public static List<String> supportedVertices() {
        return VertexConverters.supported();
    }

    /**
     * Converts {@code net}, reading (copying) its parameters; {@code net} is not modified.
     *
     * @param sequenceLength the number of time steps of the input, for layers the graph unrolls; -1 if unknown
     * @param net the network
     * @return the converted network
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a layer or option cannot be converted
     */
    public static ConvertedNetwork convert(MultiLayerNetwork net, int sequenceLength) {
        return convert(NetworkDag.of(net), sequenceLength, null);
    }

    /**
     * Converts {@code net} with the given input type, which fixes the input placeholder's shape.
     *
     * @param inputType the DL4J input type of the network input
     * @param net the network
     * @return the converted network
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a layer or option, or the input type, cannot be
     *                                                            converted
     */
    public static ConvertedNetwork convert(MultiLayerNetwork net, InputType inputType) {
        return convert(NetworkDag.of(net), sequenceLength(inputType), new InputType[] {inputType});
    }

    /**
     * Converts {@code net}, reading (copying) its parameters; {@code net} is not modified.
     *
     * @param sequenceLength the number of time steps of the inputs, for layers the graph unrolls; -1 if unknown
     * @param net the network
     * @return the converted network
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a vertex, layer or option cannot be converted
     */
    public static ConvertedNetwork convert(ComputationGraph net, int sequenceLength) {
        return convert(NetworkDag.of(net), sequenceLength, null);
    }

    /**
     * Converts {@code net} with one input type per network input, which fix the input placeholders' shapes.
     *
     * @param inputTypes one DL4J input type per network input
     * @param net the network
     * @return the converted network
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a vertex, layer or option, or an input type,
     *                                                            cannot be converted
     * @throws IllegalArgumentException                           if the number of input types is not the network's
     */
    public static ConvertedNetwork convert(ComputationGraph net, InputType... inputTypes) {
        NetworkDag dag = NetworkDag.of(net);
        if (inputTypes.length != dag.inputs().size()) {
            throw new IllegalArgumentException("Got " + inputTypes.length + " input type(s); this network has "
                    + dag.inputs().size() + " input(s): " + dag.inputs() + ".");
        }
        int steps = -1;
        for (InputType t : inputTypes) {
            steps = Math.max(steps, sequenceLength(t));
        }
        return convert(dag, steps, inputTypes);
    }

    /** The number of time steps a recurrent input type fixes, or -1. */
    private static int sequenceLength(InputType type) {
        if (type instanceof InputType.InputTypeRecurrent
                && ((InputType.InputTypeRecurrent) type).getTimeSeriesLength() > 0) {
            return (int) ((InputType.InputTypeRecurrent) type).getTimeSeriesLength();
        }
        return -1;
    }

    private static ConvertedNetwork convert(NetworkDag dag, int sequenceLength, InputType[] inputTypes) {
        NetworkConversion c = new NetworkConversion(dag, sequenceLength);
        Map<String, LayerOutput> activations = new HashMap<>();
        for (int i = 0; i < dag.inputs().size(); i++) {
            String input = dag.inputs().get(i);
            long[] shape = inputTypes == null ? InputShapes.of(dag, input, sequenceLength) : InputShapes.of(inputTypes[i]);
            int rank = inputTypes == null && shape == null ? InputShapes.rankThroughUsersLayers(dag, input) : -1;
            if (rank > 0) {
                // read first by a user's SameDiff layer: any shape, as DL4J's output takes (MutableNetwork fixes the
                // rank and width from the first input it computes with)
                SDVariable placeholder = c.sd.placeHolder(input, c.dataType, (long[]) null);
                c.inputs.put(input, placeholder);
                activations.put(input, new LayerOutput(placeholder, rank));
                continue;
            }
            if (shape == null) {
                throw new UnsupportedLayerException(inputTypes == null
                        ? "The shape of network input \"" + input + "\" cannot be told from the layers that read it. "
                                + "Give its InputType: MutableNetwork.of(net, InputType...)."
                        : "Network input \"" + input + "\" has the input type " + inputTypes[i] + ", which cannot be "
                                + "converted. Supported: feed-forward, recurrent, convolutional, convolutional flat.");
            }
            SDVariable placeholder = c.sd.placeHolder(input, c.dataType, shape);
            c.inputs.put(input, placeholder);
            activations.put(input, new LayerOutput(placeholder, shape.length));
        }
        convertVertices(c, activations);
        List<String> outputNames = nameOutputs(c, activations);
        Map<String, String> activationNames = new java.util.LinkedHashMap<>();
        for (NetworkDag.Node node : dag.nodes()) {
            activationNames.put(node.name(), activations.get(node.name()).value().name());
        }
        List<String> labelNames = new ArrayList<>();
        for (String output : dag.outputs()) {
            labelNames.add(c.losses.stream().filter(l -> l.output().equals(output)).findFirst()
                    .map(l -> l.labels().name()).orElse(null));
        }
        String lossName = defineTotalLoss(c);
        return new ConvertedNetwork(c, outputNames, labelNames, lossName, activationNames);
    }

    /** Converts every vertex in order, each in its own name scope, adding its activations to {@code activations}. */
    private static void convertVertices(NetworkConversion c, Map<String, LayerOutput> activations) {
        for (NetworkDag.Node node : c.dag.nodes()) {
            List<LayerOutput> in = new ArrayList<>();
            for (String name : node.inputs()) {
                in.add(activations.get(name));
            }
            NameScope scope = c.sd.withNameScope(node.name());
            try {
                activations.put(node.name(), VertexConverters.convert(ConversionContext.of(c, node), node.vertex(), in));
            } finally {
                scope.close();
            }
        }
    }

    /**
     * What a functional call built: the network's outputs, in its output order, and the total score of the outputs
     * that were given labels (null when none was).
     *
     * @param outputs the output activations
     * @param loss    the score, summed over the scored outputs as DL4J sums them, or null
     */
    public record Replay(List<SDVariable> outputs, SDVariable loss) {
    }

    /**
     * Applies the converters of a converted {@code MultiLayerNetwork} once more inside its graph, to {@code inputs},
     * with every parameter given as an expression: the forward pass of the functional call, made by the same code
     * that converted the network. Call inside a name scope of its own.
     *
     * @param conf       the network's configuration
     * @param converted  the converted network (its graph, inputs and sequence length)
     * @param inputs     one expression per network input, in input order
     * @param parameters an expression for every parameter, by network-level key
     * @param labels     one expression per output, or null entries for outputs not to score
     * @param training   true for DL4J's training mode (batch normalisation from the batch's statistics; dropout
     *                   refused), false for inference, as the converted graph computes
     * @return the outputs and the score
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException as the conversion, if a layer cannot be applied to
     *                                                            these inputs
     */
    public static Replay replay(MultiLayerConfiguration conf, ConvertedNetwork converted, List<SDVariable> inputs,
                                Map<String, SDVariable> parameters, List<SDVariable> labels, boolean training) {
        return replay(NetworkDag.of(conf), converted, inputs, parameters, labels, training, null, null,
                converted.sequenceLength());
    }

    /**
     * The same for a {@code ComputationGraph}; see
     * {@link #replay(MultiLayerConfiguration, ConvertedNetwork, List, Map, List, boolean)}.
     *
     * @param conf       the network's configuration
     * @param converted  the converted network
     * @param inputs     the inputs, one per network input
     * @param parameters the parameters' expressions, keyed by DL4J key
     * @param labels     the labels, one per network output
     * @param training   true for DL4J's training mode, false for inference
     * @return the outputs and the score
     */
    public static Replay replay(ComputationGraphConfiguration conf, ConvertedNetwork converted,
                                List<SDVariable> inputs, Map<String, SDVariable> parameters, List<SDVariable> labels,
                                boolean training) {
        return replay(NetworkDag.of(conf), converted, inputs, parameters, labels, training, null, null,
                converted.sequenceLength());
    }

    /**
     * The converters applied once more at inference, as {@link #replay(MultiLayerConfiguration, ConvertedNetwork,
     * List, Map, List, boolean)}, with DL4J's masks of variable-length time series: each network input's features
     * mask and each output's labels mask, [N, steps]. Layers that a mask reaches but cannot take it are refused by
     * name ({@code SequenceMasks}).
     *
     * @param configuration the network's {@code MultiLayerConfiguration} or {@code ComputationGraphConfiguration}
     * @param converted     the converted network
     * @param inputs        one expression per network input
     * @param parameters    an expression for every parameter, by network-level key
     * @param labels        one expression per output, or null entries for outputs not to score
     * @param masks         one features mask per network input, or null entries for inputs without one
     * @param labelMasks    one labels mask per output, or null entries
     * @param steps         the masks' number of time steps, which the layers unrolled over time use
     * @return the outputs and the score
     * @throws org.mutablemodules.dl4j.UnsupportedLayerException if a layer cannot take the mask that reaches it
     */
    public static Replay replayMasked(Object configuration, ConvertedNetwork converted, List<SDVariable> inputs,
                                      Map<String, SDVariable> parameters, List<SDVariable> labels,
                                      List<SDVariable> masks, List<SDVariable> labelMasks, int steps) {
        NetworkDag dag = configuration instanceof MultiLayerConfiguration
                ? NetworkDag.of((MultiLayerConfiguration) configuration)
                : NetworkDag.of((ComputationGraphConfiguration) configuration);
        return replay(dag, converted, inputs, parameters, labels, false, masks, labelMasks, steps);
    }

    private static Replay replay(NetworkDag dag, ConvertedNetwork converted, List<SDVariable> inputs,
                                 Map<String, SDVariable> parameters, List<SDVariable> labels, boolean training,
                                 List<SDVariable> masks, List<SDVariable> labelMasks, int steps) {
        SameDiff sd = converted.sameDiff();
        Map<String, SDVariable> labelled = new LinkedHashMap<>();
        Map<String, SDVariable> labelMasked = new LinkedHashMap<>();
        for (int i = 0; i < dag.outputs().size(); i++) {
            if (labels.get(i) != null) {
                labelled.put(dag.outputs().get(i), labels.get(i));
            }
            if (labelMasks != null && labelMasks.get(i) != null) {
                labelMasked.put(dag.outputs().get(i), labelMasks.get(i));
            }
        }
        Map<String, SDVariable> masked = new LinkedHashMap<>();
        for (int i = 0; masks != null && i < dag.inputs().size(); i++) {
            if (masks.get(i) != null) {
                masked.put(dag.inputs().get(i), masks.get(i));
            }
        }
        NetworkConversion c = NetworkConversion.replaying(sd, dag, steps, parameters, labelled, training, masked,
                labelMasked);
        Map<String, LayerOutput> activations = new HashMap<>();
        for (int i = 0; i < dag.inputs().size(); i++) {
            String input = dag.inputs().get(i);
            // The layers read the rank the network's own input has; the shapes are checked by the caller.
            int rank = sd.getVariable(converted.inputNames().get(i)).placeholderShape().length;
            c.inputs.put(input, inputs.get(i));
            activations.put(input, new LayerOutput(inputs.get(i), rank, masked.get(input)));
        }
        convertVertices(c, activations);
        List<SDVariable> outputs = new ArrayList<>();
        for (String output : dag.outputs()) {
            outputs.add(activations.get(output).value());
        }
        SDVariable total = null;
        for (NetworkConversion.Loss l : c.losses) {     // summed in the order the conversion sums them
            total = total == null ? l.score() : total.add(l.score());
        }
        return new Replay(List.copyOf(outputs), total);
    }

    /**
     * Gives each output's activations the output's name ({@code output} for a {@code MultiLayerNetwork}, the vertex
     * name for a {@code ComputationGraph}). An activation that is a placeholder or already another output gets its
     * own variable first.
     */
    private static List<String> nameOutputs(NetworkConversion c, Map<String, LayerOutput> activations) {
        List<String> names = new ArrayList<>();
        Set<SDVariable> named = new HashSet<>();
        for (String output : c.dag.outputs()) {
            SDVariable out = activations.get(output).value();
            if (out.getVariableType() == VariableType.PLACEHOLDER || named.contains(out)) {
                out = out.add(0.0);
            }
            String name = c.dag.isChain() ? NetworkConversion.OUTPUT : output;
            if (!out.name().equals(name) && c.sd.hasVariable(name)) {
                // A vertex name such as "a/W" can equal a name generated inside vertex "a"'s scope.
                throw new UnsupportedLayerException("The output vertex \"" + output + "\" has the name of a variable "
                        + "the conversion generates: rename the vertex (names containing '/' can clash with the "
                        + "'<vertex>/<name>' variables of other vertices).");
            }
            if (!out.name().equals(name)) {
                c.sd.renameVariable(out.name(), name);
            }
            named.add(out);
            names.add(name);
        }
        return names;
    }

    /** The score: the one output layer's, or the sum of all output layers' scores, as DL4J computes it. */
    private static String defineTotalLoss(NetworkConversion c) {
        if (c.losses.isEmpty()) {
            return null;
        }
        SameDiff sd = c.sd;
        String name = unique(sd, NetworkConversion.LOSS);
        SDVariable total;
        if (c.losses.size() == 1) {
            total = c.losses.get(0).score();
        } else {
            total = null;
            for (NetworkConversion.Loss l : c.losses) {
                String own = unique(sd, l.output() + "/" + NetworkConversion.LOSS);
                sd.renameVariable(l.score().name(), own);
                total = total == null ? l.score() : total.add(l.score());
            }
        }
        sd.renameVariable(total.name(), name);
        sd.setLossVariables(name);
        return name;
    }

    private static String unique(SameDiff sd, String base) {
        String name = base;
        for (int i = 1; sd.hasVariable(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }
}
