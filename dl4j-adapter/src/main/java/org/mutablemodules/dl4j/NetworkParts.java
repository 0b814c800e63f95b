package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link MutableNetwork} is made of, whether converted or loaded: the source network, the layer names users may
 * use (mapped to the conversion's vertex names), the mutable graph and the conversion's names.
 */
record NetworkParts(SourceNetwork source, Map<String, String> layerNames, MutableGraph graph,
                    ConvertedNetwork converted) {

    /** Converts {@code net}; its layers are known as {@code layer<i>} and by the names given in its configuration. */
    static NetworkParts convert(MultiLayerNetwork net, Supplier<ConvertedNetwork> conversion) {
        Objects.requireNonNull(net, NetworkMessages.NULL_NETWORK);
        if (net.getLayers() == null || net.getLayers().length == 0) {
            throw new IllegalStateException(format(NetworkMessages.NOT_INITIALISED, "network"));
        }
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        Map<String, String> names = new LinkedHashMap<>();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            names.put("layer" + i, "layer" + i);
            String own = conf.getConf(i).getLayer().getLayerName();
            if (own != null) {
                names.putIfAbsent(own, "layer" + i);
            }
        }
        return wrap(conversion.get(), SourceNetwork.LayerStack.copyOf(conf), names);
    }

    /** Converts {@code net}; its vertices are known by their names. */
    static NetworkParts convert(ComputationGraph net, Supplier<ConvertedNetwork> conversion) {
        Objects.requireNonNull(net, NetworkMessages.NULL_NETWORK);
        if (net.getVertices() == null) {
            throw new IllegalStateException(format(NetworkMessages.NOT_INITIALISED, "computation graph"));
        }
        ConvertedNetwork converted = conversion.get();
        Map<String, String> names = new LinkedHashMap<>();
        converted.keyPrefixes().keySet().forEach(name -> names.put(name, name));
        return wrap(converted, SourceNetwork.VertexGraph.copyOf(net.getConfiguration()), names);
    }

    /** Makes every parameter of the conversion mutable, with the initial values of frozen ones frozen. */
    private static NetworkParts wrap(ConvertedNetwork converted, SourceNetwork source, Map<String, String> names) {
        SameDiff sd = converted.sameDiff();
        MutableGraph graph = converted.parameterVariables().isEmpty() ? MutableGraph.of(sd)
                : MutableGraph.of(sd, converted.parameterVariables().values().toArray(new String[0]));
        for (String key : converted.frozenKeys()) {
            graph.param(converted.parameterVariables().get(key)).freezeInitial();
        }
        return new NetworkParts(source, Collections.unmodifiableMap(names), graph, converted);
    }

    /**
     * A new DL4J network from {@code network} holding the current values of the parameters, which are computed
     * first (reading {@code placeholders}), so nothing is built when a placeholder is missing.
     */
    <M extends Model> M bake(Supplier<M> network, Map<String, INDArray> placeholders) {
        Objects.requireNonNull(placeholders, "placeholders");
        String[] variables = converted.parameterVariables().values().toArray(new String[0]);
        Map<String, INDArray> values = new HashMap<>();
        if (variables.length > 0) {
            // the graph remembers the walk, so naming what is missing here costs the computation below none
            Set<String> missing = new TreeSet<>(graph.requiredPlaceholders(variables));
            missing.removeAll(placeholders.keySet());
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException(format(NetworkMessages.MISSING_PLACEHOLDERS, missing));
            }
            values.putAll(graph.output(new HashMap<>(placeholders), variables));
        }
        M baked = network.get();
        Map<String, INDArray> table = baked.paramTable();
        converted.parameterVariables().forEach((key, variable) -> {
            INDArray target = table.get(key);
            INDArray value = values.get(variable);
            if (target == null || !Arrays.equals(target.shape(), value.shape())) {
                throw new IllegalStateException(format(NetworkMessages.BAKED_SHAPE, key, Arrays.toString(value.shape()),
                        target == null ? "does not exist" : Arrays.toString(target.shape())));
            }
            target.assign(value.castTo(target.dataType()));
        });
        return baked;
    }
}
