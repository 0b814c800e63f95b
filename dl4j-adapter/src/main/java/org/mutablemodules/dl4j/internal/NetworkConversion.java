package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** The state shared by all vertices while one network is converted. */
final class NetworkConversion {

    /** A {@code MultiLayerNetwork}'s input placeholder. */
    static final String INPUT = "input";
    /** A {@code MultiLayerNetwork}'s output variable. */
    static final String OUTPUT = "output";
    /** A {@code MultiLayerNetwork}'s labels placeholder; a {@code ComputationGraph}'s are {@code <output>/labels}. */
    static final String LABELS = "labels";
    /** The total score: the sum of every output layer's score, as DL4J's {@code ComputationGraph} sums them. */
    static final String LOSS = "loss";

    /** An output layer's score and labels. */
    record Loss(String output, SDVariable score, SDVariable labels) {
    }

    final SameDiff sd;
    final NetworkDag dag;
    final DataType dataType;
    final int sequenceLength;
    final Map<String, SDVariable> inputs = new LinkedHashMap<>();
    final Map<String, String> parameterVariables = new LinkedHashMap<>();
    final Set<String> frozenKeys = new LinkedHashSet<>();
    final List<Loss> losses = new ArrayList<>();
    /**
     * While the converters are applied again to a converted network ({@link #replaying}): each parameter's expression
     * by network-level key, which the layers read instead of new variables. Null during a conversion.
     */
    final Map<String, SDVariable> givenParameters;
    /** While replaying: the labels of each output vertex to be scored; the others are not scored. */
    final Map<String, SDVariable> givenLabels;
    /**
     * True for a replay in training mode: batch normalisation from the batch's statistics, as DL4J trains; dropout
     * (random in DL4J's training) is refused. False for a conversion (inference).
     */
    final boolean training;
    /** In a masked replay: the features mask [N, T] of each network input that has one, by input name. */
    final Map<String, SDVariable> givenMasks;
    /** In a masked replay: the labels mask [N, T] of each output vertex that has one. */
    final Map<String, SDVariable> givenLabelMasks;

    /** A conversion into a new graph. */
    NetworkConversion(NetworkDag dag, int sequenceLength) {
        this.sd = newGraph();
        this.dag = dag;
        this.dataType = dag.dataType();
        this.sequenceLength = sequenceLength;
        this.givenParameters = null;
        this.givenLabels = Map.of();
        this.training = false;
        this.givenMasks = Map.of();
        this.givenLabelMasks = Map.of();
    }

    /**
     * The converters applied again inside {@code sd}, the graph of a converted network, with every parameter given
     * as an expression: the functional call. Nothing is recorded as a parameter, and labels are those given.
     */
    private NetworkConversion(SameDiff sd, NetworkDag dag, int sequenceLength, Map<String, SDVariable> parameters,
                              Map<String, SDVariable> labels, boolean training, Map<String, SDVariable> masks,
                              Map<String, SDVariable> labelMasks) {
        this.sd = sd;
        this.dag = dag;
        this.dataType = dag.dataType();
        this.sequenceLength = sequenceLength;
        this.givenParameters = Map.copyOf(parameters);
        this.givenLabels = Map.copyOf(labels);
        this.training = training;
        this.givenMasks = Map.copyOf(masks);
        this.givenLabelMasks = Map.copyOf(labelMasks);
    }

    /**
     * A replay of the converters in {@code sd}; see the private constructor. {@code masks} (by input name) and
     * {@code labelMasks} (by output vertex) are empty but in a masked replay, whose {@code sequenceLength} is the
     * masks' number of time steps.
     */
    static NetworkConversion replaying(SameDiff sd, NetworkDag dag, int sequenceLength,
                                       Map<String, SDVariable> parameters, Map<String, SDVariable> labels,
                                       boolean training, Map<String, SDVariable> masks,
                                       Map<String, SDVariable> labelMasks) {
        return new NetworkConversion(sd, dag, sequenceLength, parameters, labels, training, masks, labelMasks);
    }

    /** True while the converters are applied again with given parameters (the functional call). */
    boolean replays() {
        return givenParameters != null;
    }

    /**
     * An empty graph. On a single device, its arrays are held once ({@link SingleCopyArrayHolder}); with several
     * devices, SameDiff's own holder replicates them to each device.
     */
    private static SameDiff newGraph() {
        SameDiff sd = SameDiff.create();
        if (Nd4j.getAffinityManager().getNumberOfDevices() == 1) {
            sd.setArrayHolders(new SingleCopyArrayHolder(), new SingleCopyArrayHolder(), false);
        }
        return sd;
    }

    void recordParameter(String networkKey, String variable, boolean frozen) {
        if (parameterVariables.putIfAbsent(networkKey, variable) != null) {
            throw new IllegalStateException("The parameter " + networkKey + " was converted twice.");
        }
        if (frozen) {
            frozenKeys.add(networkKey);
        }
    }

    /**
     * True when the vertex is one of the network's outputs, and so has labels if it is an output layer; while
     * replaying, when labels were given for it.
     */
    boolean isOutput(String vertex) {
        return replays() ? givenLabels.containsKey(vertex) : dag.outputs().contains(vertex);
    }

    /** The name of the labels placeholder of output vertex {@code vertex}. */
    String labelName(String vertex) {
        return dag.isChain() ? LABELS : vertex + "/" + LABELS;
    }

    void recordLoss(String vertex, SDVariable score, SDVariable labels) {
        for (Loss l : losses) {
            if (l.output().equals(vertex)) {
                throw new IllegalStateException("The vertex " + vertex + " defines more than one loss.");
            }
        }
        losses.add(new Loss(vertex, score, labels));
    }
}
