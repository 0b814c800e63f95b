package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Turns a {@link MutableNetwork} call's arrays into the graph's feed, in the network's terms: one array per input and
 * per output layer, in DL4J's forms, cast to the network's data type, with the same number of examples, each refused
 * with a message naming the input or output ({@code Input "features" has shape [4, 7]; this network expects [N, 3]}).
 * What is left to check about placeholders in general (names, data types, the placeholders the parameters' current
 * values read) {@link MutableGraph}'s computations check once, with the run.
 */
final class NetworkFeeds {

    private final MutableGraph graph;
    private final ConvertedNetwork converted;
    /**
     * For inputs of any shape (read first by a user's SameDiff layer, whose input nothing declares): the rank and
     * width of the first input computed with, which later inputs must have, as DL4J's layer would need.
     */
    private final Map<String, long[]> fixedShapes = new java.util.concurrent.ConcurrentHashMap<>();

    NetworkFeeds(MutableGraph graph, ConvertedNetwork converted) {
        this.graph = graph;
        this.converted = converted;
    }

    /** The network's inputs and the other placeholders a hypernetwork reads. */
    Map<String, INDArray> inputs(INDArray[] inputs, Map<String, INDArray> otherPlaceholders) {
        Objects.requireNonNull(otherPlaceholders, "otherPlaceholders");
        Map<String, INDArray> feed = new HashMap<>(otherPlaceholders);
        feed.putAll(inputs(inputs));
        return feed;
    }

    /**
     * The network's inputs and labels and the other placeholders: labels of one row per example, or of one row per
     * row of the output where the output's rows are not the examples (after {@code RnnToFeedForwardPreProcessor}, one
     * per example and time step; only then is the output computed, to tell).
     */
    Map<String, INDArray> training(INDArray[] inputs, INDArray[] labels, Map<String, INDArray> otherPlaceholders) {
        Objects.requireNonNull(otherPlaceholders, "otherPlaceholders");
        Map<String, INDArray> data = inputs(inputs);
        Map<String, INDArray> feed = new HashMap<>(otherPlaceholders);
        feed.putAll(data);
        long examples = data.values().iterator().next().size(0);
        Objects.requireNonNull(labels, "labels");
        List<String> names = converted.labelNames();
        List<String> outputNames = converted.outputNames();
        if (labels.length != names.size()) {
            throw new IllegalArgumentException(format(NetworkMessages.LABELS_COUNT, labels.length, names.size(),
                    outputNames));
        }
        Map<String, INDArray> outputs = null;      // computed only if some labels' rows differ from the examples
        for (int i = 0; i < labels.length; i++) {
            if (names.get(i) == null) {
                continue;
            }
            String output = outputNames.get(i);
            if (labels[i] == null) {
                throw new IllegalArgumentException(format(NetworkMessages.NULL_LABELS, output));
            }
            INDArray checked = checked("The array of labels for output \"" + output + "\"", names.get(i), labels[i]);
            long rows = checked.size(0);
            if (rows != examples) {
                if (outputs == null) {
                    outputs = graph.output(new HashMap<>(feed), outputNames.toArray(new String[0]));
                }
                long outputRows = outputs.get(output).size(0);
                if (outputRows != rows) {
                    throw new IllegalArgumentException(format(NetworkMessages.LABEL_ROWS, output, rows, examples,
                            outputRows));
                }
            }
            feed.put(names.get(i), checked);
        }
        return feed;
    }

    private Map<String, INDArray> inputs(INDArray[] inputs) {
        Objects.requireNonNull(inputs, "inputs");
        List<String> names = converted.inputNames();
        if (inputs.length != names.size()) {
            throw new IllegalArgumentException(format(NetworkMessages.INPUT_COUNT, inputs.length, names.size(), names));
        }
        Map<String, INDArray> feed = new LinkedHashMap<>();
        for (int i = 0; i < inputs.length; i++) {
            String name = names.get(i);
            if (inputs[i] == null) {
                throw new IllegalArgumentException(format(NetworkMessages.NULL_INPUT, name));
            }
            feed.put(name, checked("Input \"" + name + "\"", name, networkForm(name, inputs[i])));
        }
        requireSameExamples(feed);
        return feed;
    }

    /**
     * {@code array}, cast to the type of placeholder {@code name}, after checking its shape against the placeholder's
     * (before any native code runs, whose own messages name no input).
     */
    private INDArray checked(String what, String name, INDArray array) {
        SDVariable placeholder = graph.sameDiff().getVariable(name);
        long[] expected = placeholder.placeholderShape();
        if (anyShape(expected)) {
            expected = fixedShapes.get(name);
        }
        if (expected != null) {
            boolean matches = expected.length == array.rank();
            for (int d = 1; matches && d < expected.length; d++) {
                matches = expected[d] < 0 || expected[d] == array.size(d);
            }
            if (!matches) {
                StringBuilder shape = new StringBuilder("[N");
                for (int d = 1; d < expected.length; d++) {
                    shape.append(", ").append(expected[d] < 0 ? "any" : String.valueOf(expected[d]));
                }
                throw new IllegalArgumentException(format(NetworkMessages.SHAPE, what, Arrays.toString(array.shape()),
                        shape + "]"));
            }
        }
        return array.dataType() == placeholder.dataType() ? array : array.castTo(placeholder.dataType());
    }

    /**
     * Records the shapes of a feed the graph computed with, for inputs of any shape: their rank and width (axis 1)
     * are fixed from then on. Called after a computation succeeded, so a first input the network refuses fixes
     * nothing.
     */
    void computedWith(Map<String, INDArray> feed) {
        for (String name : converted.inputNames()) {
            INDArray array = feed.get(name);
            if (array != null && array.rank() >= 2 && !fixedShapes.containsKey(name)
                    && anyShape(graph.sameDiff().getVariable(name).placeholderShape())) {
                long[] shape = new long[array.rank()];
                java.util.Arrays.fill(shape, -1);
                shape[1] = array.size(1);
                fixedShapes.putIfAbsent(name, shape);
            }
        }
    }

    private static boolean anyShape(long[] placeholderShape) {
        return placeholderShape == null;
    }

    /** Every array of a feed that has examples along axis 0 has the same number of them. */
    private static void requireSameExamples(Map<String, INDArray> arrays) {
        String first = null;
        for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
            if (first == null) {
                first = e.getKey();
            } else if (e.getValue().size(0) != arrays.get(first).size(0)) {
                throw new IllegalArgumentException(format(NetworkMessages.EXAMPLE_COUNTS, e.getKey(),
                        e.getValue().size(0), first, arrays.get(first).size(0)));
            }
        }
    }

    /**
     * The forms DL4J accepts besides the graph's: [N, 1, T] indices for an embedding sequence (the graph takes
     * [N, T]), and images [N, c, h, w] where the network's first pre-processor reads them flat ([N, c*h*w], as
     * {@code InputType.convolutionalFlat} networks do; DL4J's pre-processor passes images through).
     */
    private INDArray networkForm(String name, INDArray input) {
        long[] expected = graph.sameDiff().getVariable(name).placeholderShape();
        if (expected == null || expected.length != 2 || input.rank() < 3) {
            return input;
        }
        if (input.rank() == 3 && input.size(1) == 1 && expected[1] < 0) {
            return input.reshape(input.size(0), input.size(2));
        }
        long width = input.length() / Math.max(1, input.size(0));
        if (input.rank() == 4 && expected[1] > 0 && width == expected[1]) {
            return input.reshape('c', input.size(0), width);
        }
        return input;
    }
}
