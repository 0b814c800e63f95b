package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The result of converting a DL4J network: a plain SameDiff graph (parameters not yet mutable) and the names in it.
 * Internal to the adapter; use {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class ConvertedNetwork {

    private final SameDiff sameDiff;
    private final List<String> inputNames;
    private final List<String> outputNames;
    private final List<String> labelNames;
    private final String lossName;
    private final Map<String, String> parameterVariables;
    private final Set<String> frozenKeys;
    private final Map<String, String> keyPrefixes;
    private final Map<String, String> activationNames;

    ConvertedNetwork(NetworkConversion c, List<String> outputNames, List<String> labelNames, String lossName,
                     Map<String, String> activationNames) {
        this.sameDiff = c.sd;
        this.inputNames = List.copyOf(c.inputs.keySet());
        this.outputNames = List.copyOf(outputNames);
        this.labelNames = Collections.unmodifiableList(new ArrayList<>(labelNames));
        this.lossName = lossName;
        this.parameterVariables = Collections.unmodifiableMap(new LinkedHashMap<>(c.parameterVariables));
        this.frozenKeys = Collections.unmodifiableSet(new LinkedHashSet<>(c.frozenKeys));
        Map<String, String> prefixes = new LinkedHashMap<>();
        for (NetworkDag.Node node : c.dag.nodes()) {
            prefixes.put(node.name(), node.keyPrefix());
        }
        this.keyPrefixes = Collections.unmodifiableMap(prefixes);
        this.activationNames = Collections.unmodifiableMap(new LinkedHashMap<>(activationNames));
    }

    /** The graph. */
    public SameDiff sameDiff() {
        return sameDiff;
    }

    /** The names of the input placeholders, in the network's input order. */
    public List<String> inputNames() {
        return inputNames;
    }

    /** The names of the output activations, in the network's output order. */
    public List<String> outputNames() {
        return outputNames;
    }

    /** The labels placeholder of each output, in output order; null for an output without a loss. */
    public List<String> labelNames() {
        return labelNames;
    }

    /** The name of the score variable, or null when the network has no output layer. */
    public String lossName() {
        return lossName;
    }

    /** DL4J's network-level parameter keys ({@code 0_W}, ...) mapped to the graph's variable names, in DL4J's order. */
    public Map<String, String> parameterVariables() {
        return parameterVariables;
    }

    /** The keys of parameters DL4J does not train: frozen layers' and running statistics. */
    public Set<String> frozenKeys() {
        return frozenKeys;
    }

    /** Each vertex's name ({@code layer0} in a {@code MultiLayerNetwork}) mapped to its key prefix ({@code 0_}). */
    public Map<String, String> keyPrefixes() {
        return keyPrefixes;
    }

    /** Each vertex's name mapped to the graph variable holding its output activations. */
    public Map<String, String> activationNames() {
        return activationNames;
    }
}
