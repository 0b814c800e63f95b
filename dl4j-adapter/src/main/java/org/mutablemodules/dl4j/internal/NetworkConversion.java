package org.mutablemodules.dl4j.internal;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/** The state shared by all layers while one network is converted. */
final class NetworkConversion {

    static final String INPUT = "input";
    static final String OUTPUT = "output";
    static final String LABELS = "labels";
    static final String LOSS = "loss";

    final SameDiff sd = SameDiff.create();
    final DataType dataType;
    final int sequenceLength;
    SDVariable input;
    final Map<String, String> parameterVariables = new LinkedHashMap<>();
    final Set<String> frozenKeys = new LinkedHashSet<>();
    String labelName;
    String lossName;

    NetworkConversion(DataType dataType, int sequenceLength) {
        this.dataType = dataType;
        this.sequenceLength = sequenceLength;
    }

    void recordParameter(String networkKey, String variable, boolean frozen) {
        parameterVariables.put(networkKey, variable);
        if (frozen) {
            frozenKeys.add(networkKey);
        }
    }

    void recordLoss(SDVariable score, SDVariable labels) {
        if (lossName != null) {
            throw new IllegalStateException("The network defines more than one loss.");
        }
        sd.renameVariable(score.name(), LOSS);
        lossName = LOSS;
        labelName = labels.name();
    }
}
