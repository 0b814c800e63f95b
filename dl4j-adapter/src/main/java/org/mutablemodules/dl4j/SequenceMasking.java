package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.dl4j.internal.NetworkConverter;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's masks of variable-length time series for a {@link MutableNetwork}. The converted graph computes DL4J's
 * unmasked semantics; a call with masks runs a masked copy of the network built in the same graph at the first such
 * call (the converters replayed with the masks, {@link NetworkConverter#replayMasked}), reading the same input and
 * labels placeholders and the parameters' current (possibly mutated) values, so mutations and training reach both.
 * A copy is unrolled over the masks' number of time steps: series of another length build another copy (not padded:
 * DL4J's LSTM ignores masks outside {@code LastTimeStep}, so padding would reach a {@code Bidirectional} layer's
 * backward pass).
 */
final class SequenceMasking {

    /**
     * A masked copy of the network, unrolled over {@code steps} time steps: its mask placeholders (null where an
     * input or output has none), output variables and total loss (null without an output layer).
     */
    private record Copy(int steps, List<String> masks, List<String> labelMasks, List<String> outputs, String loss) {
    }

    /**
     * What a call feeds and reads: the graph's feed, the output variables and the loss (the network's own, or a
     * masked copy's).
     */
    record Call(Map<String, INDArray> feed, List<String> outputs, String loss) {
    }

    private final ConvertedNetwork converted;
    private final Object configuration;
    /**
     * The masked copies built, by number of time steps and the outputs scored with a labels mask (DL4J scores an
     * output without one on every step, or for an {@code RnnLossLayer}, on the features mask's).
     */
    private final Map<List<Object>, Copy> copies = new HashMap<>();

    SequenceMasking(ConvertedNetwork converted, Object configuration) {
        this.converted = converted;
        this.configuration = configuration;
    }

    /** True if any of the arrays is not null. */
    static boolean any(INDArray[] masks) {
        if (masks != null) {
            for (INDArray m : masks) {
                if (m != null) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The feed of a masked call: {@code data} (the checked inputs and labels, by placeholder) with each mask given,
     * ones where none is; builds the masked copy for the masks' length at its first call.
     *
     * @param data         the unmasked call's feed (inputs, and labels if scored)
     * @param masks        one features mask [N, T] per network input, null entries for none
     * @param labelMasks   one labels mask [N, T] per output, or [N, n, T] (per output) for an NCW
     *                     {@code RnnOutputLayer} or {@code RnnLossLayer}; null entries for none; null for no labels
     * @throws IllegalArgumentException if a mask is not [N, T] of the series' length (or per output, [N, n, T] as the
     *                                  labels) or holds values other than 0 and 1, or is given for an input or output
     *                                  that is not a time series
     * @throws UnsupportedLayerException if a layer the mask reaches cannot take it
     */
    synchronized Call call(Map<String, INDArray> data, INDArray[] masks, INDArray[] labelMasks) {
        List<String> inputs = converted.inputNames();
        List<String> labels = converted.labelNames();
        if (masks != null && masks.length != inputs.size()) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_COUNT, "features", masks.length,
                    inputs.size(), "inputs " + inputs));
        }
        if (labelMasks != null && labelMasks.length != labels.size()) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_COUNT, "labels", labelMasks.length,
                    labels.size(), "outputs " + converted.outputNames()));
        }
        long examples = data.get(inputs.get(0)).size(0);
        // every mask checked against its series before a copy is built: the features masks share the inputs'
        // length, which the copy is unrolled over; a labels mask has its labels' length (layers may change it)
        int steps = -1;
        String first = null;
        for (int i = 0; i < inputs.size(); i++) {
            INDArray m = entry(masks, i);
            if (m != null) {
                String what = "features mask of input \"" + inputs.get(i) + "\"";
                requireMaskOfSeries(what, inputs.get(i), m, examples, "input");
                if (steps < 0) {
                    steps = (int) m.size(1);
                    first = "the " + what;
                } else if (m.size(1) != steps) {
                    throw new IllegalArgumentException(format(NetworkMessages.MASK_LENGTHS, "The " + what,
                            m.size(1), first, steps));
                }
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            String name = inputs.get(i);
            if (isSeries(name)) {
                INDArray series = data.get(name);
                long length = series.size(timeAxis(name, series));
                if (steps < 0) {
                    steps = (int) length;
                }
                requireLength("Input \"" + name + "\"", series, timeAxis(name, series), steps);
            }
        }
        for (int k = 0; k < labels.size(); k++) {
            INDArray m = entry(labelMasks, k);
            String name = labels.get(k);
            if (m != null) {
                String what = "labels mask of output \"" + converted.outputNames().get(k) + "\"";
                INDArray series = data.get(name);
                if (m.rank() == 3) {
                    requirePerOutputMask(what, k, name, m, series, examples);
                    continue;
                }
                requireMaskOfSeries(what, name, m, examples, "output");
                if (series != null) {
                    requireLength("The labels of output \"" + converted.outputNames().get(k) + "\"", series,
                            timeAxis(name, series), m.size(1));
                }
            }
        }
        // per output: the rank of the labels mask it is scored with (0: none, 2: per step, 3: per output)
        List<Integer> scoredWithMask = new ArrayList<>();
        for (int k = 0; k < labels.size(); k++) {
            INDArray m = entry(labelMasks, k);
            scoredWithMask.add(m != null && labels.get(k) != null && data.containsKey(labels.get(k)) ? m.rank() : 0);
        }
        int length = steps;
        Copy copy = copies.computeIfAbsent(List.of(steps, scoredWithMask), key -> build(length, scoredWithMask));
        // a features mask not given is all ones; labels masks where labels and masks are given (the score reads them)
        Map<String, INDArray> feed = new HashMap<>(data);
        for (int i = 0; i < inputs.size(); i++) {
            String placeholder = copy.masks().get(i);
            if (placeholder != null) {
                feed.put(placeholder, maskOrOnes(placeholder, entry(masks, i), examples, steps));
            }
        }
        for (int k = 0; k < labels.size(); k++) {
            String placeholder = copy.labelMasks().get(k);
            if (placeholder != null) {
                feed.put(placeholder, entry(labelMasks, k).castTo(
                        converted.sameDiff().getVariable(placeholder).dataType()));
            }
        }
        return new Call(feed, copy.outputs(), copy.loss());
    }

    /**
     * The output of network output {@code index} zeroed at the time steps its labels mask leaves out, where DL4J's
     * output layer does so ({@code RnnOutputLayer}: along axis 2 of [N, n, T], axis 1 of [N, T, n]); as computed
     * elsewhere, or without a mask.
     */
    INDArray withLabelsMask(int index, INDArray output, INDArray labelsMask) {
        if (labelsMask == null || !(outputLayer(index) instanceof RnnOutputLayer)) {
            return output;
        }
        INDArray m = labelsMask.castTo(output.dataType());
        if (m.rank() == 3) {
            // per output, [N, n, T] as the output (NCW: checked by call)
            if (!Arrays.equals(m.shape(), output.shape())) {
                throw new IllegalArgumentException(format(NetworkMessages.PER_OUTPUT_MASK_SHAPE, "labels mask of "
                        + "output \"" + converted.outputNames().get(index) + "\"", Arrays.toString(m.shape()),
                        Arrays.toString(output.shape()) + " (the output's)"));
            }
            return output.mul(m);
        }
        boolean nwc = ((RnnOutputLayer) outputLayer(index)).getRnnDataFormat() == RNNFormat.NWC;
        return output.mul(nwc ? m.reshape(m.size(0), m.size(1), 1) : m.reshape(m.size(0), 1, m.size(1)));
    }

    /** The layer of network output {@code index} (null for a vertex that is no layer). */
    private Layer outputLayer(int index) {
        if (configuration instanceof MultiLayerConfiguration) {
            List<NeuralNetConfiguration> confs = ((MultiLayerConfiguration) configuration).getConfs();
            return confs.get(confs.size() - 1).getLayer();
        }
        ComputationGraphConfiguration conf = (ComputationGraphConfiguration) configuration;
        GraphVertex vertex = conf.getVertices().get(conf.getNetworkOutputs().get(index));
        return vertex instanceof LayerVertex ? ((LayerVertex) vertex).getLayerConf().getLayer() : null;
    }

    /** {@code mask} cast to the type of its placeholder, or ones [N, steps] where none is given. */
    private INDArray maskOrOnes(String placeholder, INDArray mask, long examples, long steps) {
        DataType type = converted.sameDiff().getVariable(placeholder).dataType();
        return mask == null ? Nd4j.ones(type, examples, steps) : mask.castTo(type);
    }

    /**
     * Requires a mask for the time series fed to placeholder {@code name}: refused if that is no time series (or
     * none), or the mask is not [N, T] of 0 and 1.
     */
    private void requireMaskOfSeries(String what, String name, INDArray m, long examples, String owner) {
        if (name == null || !isSeries(name)) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_NOT_SERIES, what, owner));
        }
        requireMask("The " + what, m, examples);
    }

    /**
     * Requires a per-output labels mask [N, n, T] for output {@code k}: DL4J takes one for an NCW
     * {@code RnnOutputLayer} or {@code RnnLossLayer} (it reads the mask as NCW whatever the layer's format, so an NWC
     * layer would pair each value with another output and step), of the labels' shape, of 0 and 1.
     */
    private void requirePerOutputMask(String what, int k, String name, INDArray m, INDArray labels, long examples) {
        Layer layer = outputLayer(k);
        RNNFormat format = layer instanceof RnnOutputLayer o ? o.getRnnDataFormat()
                : layer instanceof RnnLossLayer l ? l.getRnnDataFormat() : null;
        if (format != RNNFormat.NCW) {
            throw new IllegalArgumentException(format(NetworkMessages.PER_OUTPUT_MASK_LAYER, what,
                    Arrays.toString(m.shape()), layer == null ? "a vertex" : layer.getClass().getSimpleName()
                            + (format == null ? "" : " in " + format + " format")));
        }
        if (name == null || !isSeries(name)) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_NOT_SERIES, what, "output"));
        }
        if (m.size(0) != examples || labels != null && !Arrays.equals(m.shape(), labels.shape())) {
            throw new IllegalArgumentException(format(NetworkMessages.PER_OUTPUT_MASK_SHAPE, what,
                    Arrays.toString(m.shape()), labels == null ? "[" + examples + ", n, T]"
                            : Arrays.toString(labels.shape())));
        }
        requireZerosAndOnes(what, m);
    }

    private static INDArray entry(INDArray[] arrays, int i) {
        return arrays == null ? null : arrays[i];
    }

    /** True for a placeholder of time series, [N, n, T] or [N, T, n]. */
    private boolean isSeries(String placeholder) {
        long[] shape = converted.sameDiff().getVariable(placeholder).placeholderShape();
        return shape != null && shape.length == 3;
    }

    private static void requireMask(String what, INDArray m, long examples) {
        if (m.rank() != 2 || m.size(0) != examples) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_SHAPE, what,
                    Arrays.toString(m.shape()), examples));
        }
        requireZerosAndOnes(what, m);
    }

    /** Refuses a mask holding a value other than 0 and 1, naming the first one's example and time step. */
    private static void requireZerosAndOnes(String what, INDArray m) {
        double[] values = m.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        long steps = m.size(m.rank() - 1);
        for (int i = 0; i < values.length; i++) {
            if (values[i] != 0.0 && values[i] != 1.0) {
                throw new IllegalArgumentException(format(NetworkMessages.MASK_VALUES, what, values[i],
                        i / (values.length / m.size(0)), i % steps));
            }
        }
    }

    /**
     * The time axis of a series fed to placeholder {@code name}: for an input, the one of the two whose size the
     * placeholder fixes to the conversion's sequence length; else the one the placeholder leaves open (2 for
     * [N, n, T], 1 for [N, T, n]); else axis 2 (DL4J's default format, NCW). Labels placeholders leave their time
     * axis open.
     */
    private int timeAxis(String name, INDArray series) {
        long[] shape = converted.sameDiff().getVariable(name).placeholderShape();
        long length = converted.sequenceLength();
        if (converted.inputNames().contains(name) && length > 0 && (shape[1] == length) != (shape[2] == length)) {
            return shape[1] == length ? 1 : 2;
        }
        if ((shape[1] < 0) != (shape[2] < 0)) {
            return shape[1] < 0 ? 1 : 2;
        }
        return 2;
    }

    private static void requireLength(String what, INDArray series, int axis, long steps) {
        if (series.rank() != 3 || series.size(axis) != steps) {
            throw new IllegalArgumentException(format(NetworkMessages.MASK_SERIES, what,
                    Arrays.toString(series.shape()), steps, axis));
        }
    }

    /**
     * Builds the masked copy for {@code steps} time steps, with a labels mask placeholder for each output
     * {@code scoredWithMask}, in a fresh name scope ({@code masked}, {@code masked_1}, ...); on any failure removes
     * whatever it added, so the graph is unchanged.
     *
     * @throws UnsupportedLayerException if a layer cannot take the mask that reaches it
     */
    private Copy build(int steps, List<Integer> scoredWithMask) {
        SameDiff sd = converted.sameDiff();
        GraphEdits.Snapshot rollback = GraphEdits.snapshot(sd);
        String scopeName = freeScope(sd);
        boolean built = false;
        NameScope scope = null;
        try {
            // the placeholders named in full, outside the scope (SameDiff's scopes do not apply to every method)
            List<SDVariable> inputs = new ArrayList<>();
            List<SDVariable> masks = new ArrayList<>();
            List<String> maskNames = new ArrayList<>();
            for (String name : converted.inputNames()) {
                SDVariable input = sd.getVariable(name);
                inputs.add(input);
                long[] shape = input.placeholderShape();
                boolean series = shape != null && shape.length == 3;
                SDVariable m = series ? sd.placeHolder(scopeName + "/" + name + "/mask", input.dataType(), -1, steps)
                        : null;
                masks.add(m);
                maskNames.add(m == null ? null : m.name());
            }
            List<SDVariable> labels = new ArrayList<>();
            List<SDVariable> labelMasks = new ArrayList<>();
            List<String> labelMaskNames = new ArrayList<>();
            for (int k = 0; k < converted.labelNames().size(); k++) {
                String name = converted.labelNames().get(k);
                SDVariable l = name == null ? null : sd.getVariable(name);
                labels.add(l);
                int rank = scoredWithMask.get(k);
                SDVariable m = rank == 0 ? null : sd.placeHolder(scopeName + "/" + name + "/mask", l.dataType(),
                        rank == 3 ? new long[] {-1, -1, -1} : new long[] {-1, -1});
                labelMasks.add(m);
                labelMaskNames.add(m == null ? null : m.name());
            }
            scope = sd.withNameScope(scopeName);
            Map<String, SDVariable> parameters = new LinkedHashMap<>();
            converted.parameterVariables().forEach((key, variable) -> parameters.put(key, sd.getVariable(variable)));
            NetworkConverter.Replay replay = NetworkConverter.replayMasked(configuration, converted, inputs,
                    parameters, labels, masks, labelMasks, steps);
            List<String> outputs = new ArrayList<>();
            for (int i = 0; i < replay.outputs().size(); i++) {
                outputs.add(named(sd, replay.outputs().get(i), scopeName + "/" + converted.outputNames().get(i)));
            }
            String loss = replay.loss() == null ? null : named(sd, replay.loss(), scopeName + "/loss");
            built = true;
            return new Copy(steps, maskNames, labelMaskNames, List.copyOf(outputs), loss);
        } finally {
            if (scope != null) {
                scope.close();
            }
            if (!built) {
                rollback.rollback();
            }
        }
    }

    /** Gives {@code v} the name {@code name} if free; a placeholder or shared variable gets an identity first. */
    private static String named(SameDiff sd, SDVariable v, String name) {
        if (sd.hasVariable(name)) {
            return v.name();
        }
        SDVariable own = v.name().startsWith(name.substring(0, name.indexOf('/') + 1)) ? v : v.add(0.0);
        sd.renameVariable(own.name(), name);
        return name;
    }

    private static String freeScope(SameDiff sd) {
        String scope = "masked";
        for (int i = 1; sd.hasVariable(scope) || hasScope(sd, scope); i++) {
            scope = "masked_" + i;
        }
        return scope;
    }

    private static boolean hasScope(SameDiff sd, String scope) {
        String prefix = scope + "/";
        return sd.getVariables().keySet().stream().anyMatch(n -> n.startsWith(prefix));
    }
}
