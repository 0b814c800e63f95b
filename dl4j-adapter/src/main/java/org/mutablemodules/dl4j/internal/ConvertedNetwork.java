package org.mutablemodules.dl4j.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
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
    private final int sequenceLength;

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
        this.sequenceLength = c.sequenceLength;
    }

    /** {@return the graph} */
    public SameDiff sameDiff() {
        return sameDiff;
    }

    /** {@return the names of the input placeholders, in the network's input order} */
    public List<String> inputNames() {
        return inputNames;
    }

    /** {@return the names of the output activations, in the network's output order} */
    public List<String> outputNames() {
        return outputNames;
    }

    /** {@return the labels placeholder of each output, in output order; null for an output without a loss} */
    public List<String> labelNames() {
        return labelNames;
    }

    /** {@return the name of the score variable, or null when the network has no output layer} */
    public String lossName() {
        return lossName;
    }

    /**
     * {@return DL4J's network-level parameter keys ({@code 0_W}, ...) mapped to the graph's variable names, in DL4J's
     *     order}
     */
    public Map<String, String> parameterVariables() {
        return parameterVariables;
    }

    /** {@return the keys of parameters DL4J does not train: frozen layers' and running statistics} */
    public Set<String> frozenKeys() {
        return frozenKeys;
    }

    /**
     * {@return each vertex's name ({@code layer0} in a {@code MultiLayerNetwork}) mapped to its key prefix ({@code
     *     0_})}
     */
    public Map<String, String> keyPrefixes() {
        return keyPrefixes;
    }

    /** {@return each vertex's name mapped to the graph variable holding its output activations} */
    public Map<String, String> activationNames() {
        return activationNames;
    }

    /** {@return the number of time steps declared at conversion, or -1: what layers that unroll a sequence read} */
    public int sequenceLength() {
        return sequenceLength;
    }

    /**
     * Writes the names (everything but the graph) into {@code p}, for {@link #restore}.
     *
     * @param p where to write
     */
    public void store(Properties p) {
        putList(p, "inputs", inputNames);
        putList(p, "outputs", outputNames);
        putList(p, "labels", labelNames);
        if (lossName != null) {
            p.setProperty("loss", lossName);
        }
        putMap(p, "parameters", parameterVariables);
        putList(p, "frozen", new ArrayList<>(frozenKeys));
        putMap(p, "prefixes", keyPrefixes);
        putMap(p, "activations", activationNames);
        p.setProperty("sequenceLength", String.valueOf(sequenceLength));
    }

    /**
     * The converted network whose names {@link #store} wrote, over a graph loaded from the same file.
     *
     * @param sd the graph
     * @param p  the names
     * @return the converted network
     * @throws IOException if a name is missing or refers to no variable of {@code sd}
     */
    public static ConvertedNetwork restore(SameDiff sd, Properties p) throws IOException {
        ConvertedNetwork c = new ConvertedNetwork(sd, getList(p, "inputs"), getList(p, "outputs"), getList(p, "labels"),
                p.getProperty("loss"), getMap(p, "parameters"), new LinkedHashSet<>(getList(p, "frozen")),
                getMap(p, "prefixes"), getMap(p, "activations"), sequenceLength(p));
        List<String> needed = new ArrayList<>(c.inputNames);
        needed.addAll(c.outputNames);
        needed.addAll(c.parameterVariables.values());
        if (c.lossName != null) {
            needed.add(c.lossName);
        }
        for (String name : needed) {
            if (!sd.hasVariable(name)) {
                throw new IOException("The file is inconsistent: the network's variable \"" + name
                        + "\" is missing from its graph.");
            }
        }
        return c;
    }

    private ConvertedNetwork(SameDiff sd, List<String> inputs, List<String> outputs, List<String> labels, String loss,
                             Map<String, String> parameters, Set<String> frozen, Map<String, String> prefixes,
                             Map<String, String> activations, int sequenceLength) {
        this.sameDiff = sd;
        this.inputNames = List.copyOf(inputs);
        this.outputNames = List.copyOf(outputs);
        this.labelNames = Collections.unmodifiableList(new ArrayList<>(labels));
        this.lossName = loss;
        this.parameterVariables = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        this.frozenKeys = Collections.unmodifiableSet(new LinkedHashSet<>(frozen));
        this.keyPrefixes = Collections.unmodifiableMap(new LinkedHashMap<>(prefixes));
        this.activationNames = Collections.unmodifiableMap(new LinkedHashMap<>(activations));
        this.sequenceLength = sequenceLength;
    }

    // Files written before the sequence length was stored: unknown, as for a conversion without one.
    private static int sequenceLength(Properties p) throws IOException {
        try {
            return Integer.parseInt(p.getProperty("sequenceLength", "-1"));
        } catch (NumberFormatException e) {
            throw new IOException("The file's network description is damaged: " + e.getMessage(), e);
        }
    }

    // A null list element (an output without labels) is stored as an absent key.
    private static void putList(Properties p, String prefix, List<String> values) {
        p.setProperty(prefix + ".size", String.valueOf(values.size()));
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) != null) {
                p.setProperty(prefix + "." + i, values.get(i));
            }
        }
    }

    private static List<String> getList(Properties p, String prefix) throws IOException {
        String size = p.getProperty(prefix + ".size");
        if (size == null) {
            throw new IOException("The file's network description is damaged: \"" + prefix + "\" is missing.");
        }
        List<String> values = new ArrayList<>();
        try {
            for (int i = 0, n = Integer.parseInt(size); i < n; i++) {
                values.add(p.getProperty(prefix + "." + i));
            }
        } catch (NumberFormatException e) {
            throw new IOException("The file's network description is damaged: " + e.getMessage(), e);
        }
        return values;
    }

    private static void putMap(Properties p, String prefix, Map<String, String> map) {
        putList(p, prefix + ".keys", new ArrayList<>(map.keySet()));
        putList(p, prefix + ".values", new ArrayList<>(map.values()));
    }

    private static Map<String, String> getMap(Properties p, String prefix) throws IOException {
        List<String> keys = getList(p, prefix + ".keys");
        List<String> values = getList(p, prefix + ".values");
        if (keys.size() != values.size()) {
            throw new IOException("The file's network description is damaged: \"" + prefix + "\" is inconsistent.");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            map.put(keys.get(i), values.get(i));
        }
        return map;
    }
}
