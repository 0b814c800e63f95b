package org.mutablemodules.dl4j.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The result of converting a DL4J network: a plain SameDiff graph (parameters not yet mutable) and the names in it.
 * Internal to the adapter; use {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class ConvertedNetwork {

    private final SameDiff sameDiff;
    private final String inputName;
    private final String outputName;
    private final String labelName;
    private final String lossName;
    private final Map<String, String> parameterVariables;
    private final Set<String> frozenKeys;

    ConvertedNetwork(NetworkConversion c, String outputName) {
        this.sameDiff = c.sd;
        this.inputName = c.input.name();
        this.outputName = outputName;
        this.labelName = c.labelName;
        this.lossName = c.lossName;
        this.parameterVariables = Collections.unmodifiableMap(new LinkedHashMap<>(c.parameterVariables));
        this.frozenKeys = Collections.unmodifiableSet(new LinkedHashSet<>(c.frozenKeys));
    }

    /** The graph. */
    public SameDiff sameDiff() {
        return sameDiff;
    }

    /** The name of the input placeholder. */
    public String inputName() {
        return inputName;
    }

    /** The name of the network's output activations. */
    public String outputName() {
        return outputName;
    }

    /** The name of the labels placeholder, or null when the network has no output layer. */
    public String labelName() {
        return labelName;
    }

    /** The name of the score variable, or null when the network has no output layer. */
    public String lossName() {
        return lossName;
    }

    /** DL4J's network-level parameter keys ({@code 0_W}, ...) mapped to the graph's variable names, in layer order. */
    public Map<String, String> parameterVariables() {
        return parameterVariables;
    }

    /** The keys of parameters DL4J does not train: frozen layers' and running statistics. */
    public Set<String> frozenKeys() {
        return frozenKeys;
    }
}
