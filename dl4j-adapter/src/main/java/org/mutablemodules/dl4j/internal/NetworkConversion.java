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

    final SameDiff sd = newGraph();
    final NetworkDag dag;
    final DataType dataType;
    final int sequenceLength;
    final Map<String, SDVariable> inputs = new LinkedHashMap<>();
    final Map<String, String> parameterVariables = new LinkedHashMap<>();
    final Set<String> frozenKeys = new LinkedHashSet<>();
    final List<Loss> losses = new ArrayList<>();

    NetworkConversion(NetworkDag dag, int sequenceLength) {
        this.dag = dag;
        this.dataType = dag.dataType();
        this.sequenceLength = sequenceLength;
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

    /** True when the vertex is one of the network's outputs, and so has labels if it is an output layer. */
    boolean isOutput(String vertex) {
        return dag.outputs().contains(vertex);
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
