package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.mutablemodules.dl4j.UnsupportedLayerException;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.internal.GraphEdits;
import org.nd4j.autodiff.samediff.NameScope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The converted network as a function of its parameters, applied again inside the same graph: the counterpart of
 * {@code torch.func.functional_call}, and the gradient of its score as ordinary graph expressions (explicit backward
 * rules per layer, {@link FunctionalLayer}), which SameDiff can differentiate again: what second-order
 * meta-learning needs, since SameDiff cannot differentiate its own gradient function.
 *
 * <p>Feed-forward networks only: a {@code MultiLayerNetwork}, or a {@code ComputationGraph} that is a chain from one
 * input to one output, of {@code DenseLayer}, {@code OutputLayer}, {@code ActivationLayer} and {@code DropoutLayer}
 * (the identity, as at inference) without input pre-processors; activations {@link DifferentiableActivation#SUPPORTED},
 * losses {@link DifferentiableLoss#SUPPORTED}. Every call validates its arguments before it adds anything to the graph
 * and leaves the graph as it was when it fails. Internal to the adapter; use
 * {@code org.mutablemodules.dl4j.MutableNetwork}.
 */
public final class FunctionalNetwork {

    static final String SUPPORTED_LAYERS = "DenseLayer, OutputLayer, ActivationLayer and DropoutLayer";

    private final MutableGraph graph;
    private final Map<String, String> parameterVariables;
    private final List<FunctionalLayer> layers;
    private final long inputWidth;

    private FunctionalNetwork(MutableGraph graph, Map<String, String> parameterVariables, List<FunctionalLayer> layers,
                              long inputWidth) {
        this.graph = graph;
        this.parameterVariables = parameterVariables;
        this.layers = layers;
        this.inputWidth = inputWidth;
    }

    /**
     * The functional view of a converted {@code MultiLayerNetwork}.
     *
     * @throws UnsupportedLayerException if a layer, its activation or its loss has no explicit backward rule; the
     *                                   message names the layer
     */
    public static FunctionalNetwork of(MultiLayerConfiguration conf, ConvertedNetwork converted, MutableGraph graph) {
        Builder b = new Builder();
        int n = conf.getConfs().size();
        for (int i = 0; i < n; i++) {
            Layer layer = conf.getConf(i).getLayer();
            b.add("Layer " + i + " (" + layer.getClass().getSimpleName() + ")", i + "_", layer,
                    conf.getInputPreProcess(i), conf.getConf(i).isMiniBatch(), i == n - 1);
        }
        return b.build(graph, converted);
    }

    /**
     * The functional view of a converted {@code ComputationGraph}, which must be a chain of layers.
     *
     * @throws UnsupportedLayerException if the graph is not a chain from one input to one output, or a vertex, its
     *                                   layer, activation or loss has no explicit backward rule; the message names it
     */
    public static FunctionalNetwork of(ComputationGraphConfiguration conf, ConvertedNetwork converted,
                                       MutableGraph graph) {
        if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
            throw new UnsupportedLayerException(notAChain("it has " + conf.getNetworkInputs().size() + " input(s) and "
                    + conf.getNetworkOutputs().size() + " output(s)"));
        }
        Builder b = new Builder();
        String previous = conf.getNetworkInputs().get(0);
        int visited = 0;
        while (visited < conf.getVertices().size()) {
            String next = null;
            for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
                if (e.getValue().contains(previous)) {
                    if (next != null || e.getValue().size() != 1) {
                        throw new UnsupportedLayerException(notAChain("\"" + previous + "\" feeds several vertices, "
                                + "or vertex \"" + e.getKey() + "\" reads several inputs"));
                    }
                    next = e.getKey();
                }
            }
            if (next == null) {
                throw new UnsupportedLayerException(notAChain("vertex \"" + previous + "\" feeds no vertex but "
                        + "other vertices exist"));
            }
            GraphVertex vertex = conf.getVertices().get(next);
            String description = "Vertex \"" + next + "\" (" + vertex.getClass().getSimpleName() + ")";
            if (!(vertex instanceof LayerVertex)) {
                throw new UnsupportedLayerException(description + " cannot be used by forward, loss and "
                        + "lossGradients, which apply layers only (" + SUPPORTED_LAYERS + ").");
            }
            LayerVertex lv = (LayerVertex) vertex;
            Layer layer = lv.getLayerConf().getLayer();
            visited++;
            b.add("Vertex \"" + next + "\" (" + layer.getClass().getSimpleName() + ")", next + "_", layer,
                    lv.getPreProcessor(), lv.getLayerConf().isMiniBatch(), visited == conf.getVertices().size());
            previous = next;
        }
        return b.build(graph, converted);
    }

    private static String notAChain(String why) {
        return "forward, loss and lossGradients take a ComputationGraph that is a chain of layers from one input to "
                + "one output; this one is not: " + why + ".";
    }

    /** DL4J's network-level parameter keys the layers use, in order. */
    public List<String> parameterKeys() {
        return List.copyOf(parameterVariables.keySet());
    }

    /** True when the last layer is an output layer, so that {@link #loss} and {@link #lossGradients} apply. */
    public boolean hasLoss() {
        return !layers.isEmpty() && layers.get(layers.size() - 1).loss() != null;
    }

    /**
     * The network applied to {@code input} with the given expressions in place of the named parameters (the others
     * read their current values).
     *
     * @throws IllegalArgumentException if an argument is invalid (see {@link #checkArguments})
     */
    public SDVariable forward(SDVariable input, Map<String, SDVariable> parameters) {
        checkArguments(input, null, parameters);
        return build("forward", () -> {
            Map<String, SDVariable> values = values(parameters);
            List<FunctionalLayer.Pass> passes = forwardPasses(input, values);
            return name(passes.get(passes.size() - 1).output(), "output");
        });
    }

    /**
     * The score of {@link #forward} against {@code labels}, at the converted graph's convention (DL4J's loss
     * averaged over the minibatch, without regularisation).
     *
     * @throws IllegalStateException    if the network does not end with an output layer
     * @throws IllegalArgumentException if an argument is invalid
     */
    public SDVariable loss(SDVariable input, SDVariable labels, Map<String, SDVariable> parameters) {
        requireLoss();
        checkArguments(input, labels, parameters);
        return build("loss", () -> {
            FunctionalLayer last = layers.get(layers.size() - 1);
            List<FunctionalLayer.Pass> passes = forwardPasses(input, values(parameters));
            SDVariable scale = last.loss().scale(labels);
            return name(last.loss().score(passes.get(passes.size() - 1).output(), labels, scale), "loss");
        });
    }

    /**
     * The gradients of {@link #loss} with respect to every parameter of the network (the named ones at the given
     * expressions, the others at their current values), keyed by network-level key in the layers' order, as graph
     * expressions built from explicit backward rules.
     *
     * @throws IllegalStateException    if the network does not end with an output layer
     * @throws IllegalArgumentException if an argument is invalid
     */
    public Map<String, SDVariable> lossGradients(SDVariable input, SDVariable labels,
                                                 Map<String, SDVariable> parameters) {
        requireLoss();
        checkArguments(input, labels, parameters);
        return build("lossGradients", () -> {
            Map<String, SDVariable> values = values(parameters);
            List<FunctionalLayer.Pass> passes = forwardPasses(input, values);
            FunctionalLayer last = layers.get(layers.size() - 1);
            FunctionalLayer.Pass lastPass = passes.get(passes.size() - 1);
            DifferentiableLoss loss = last.loss();
            SDVariable scale = loss.scale(labels);
            SDVariable dz = loss.fusesWithSoftmax() && last.activation().isSoftmax()
                    ? loss.softmaxGradient(lastPass.output(), labels, scale)
                    : last.preActivationGradient(lastPass, loss.gradient(lastPass.output(), labels, scale));
            int firstWithParameters = firstAffineLayer();
            Map<String, SDVariable> reversed = new LinkedHashMap<>();
            for (int i = layers.size() - 1; i >= firstWithParameters; i--) {
                FunctionalLayer layer = layers.get(i);
                SDVariable inputGradient = layer.backward(passes.get(i), dz, values, i > firstWithParameters,
                        reversed);
                if (i > firstWithParameters) {
                    dz = layers.get(i - 1).preActivationGradient(passes.get(i - 1), inputGradient);
                }
            }
            Map<String, SDVariable> gradients = new LinkedHashMap<>();
            for (String key : parameterVariables.keySet()) {
                gradients.put(key, name(reversed.get(key), "grad/" + key));
            }
            return Collections.unmodifiableMap(gradients);
        });
    }

    private int firstAffineLayer() {
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).affine()) {
                return i;
            }
        }
        return layers.size() - 1;
    }

    private List<FunctionalLayer.Pass> forwardPasses(SDVariable input, Map<String, SDVariable> values) {
        List<FunctionalLayer.Pass> passes = new ArrayList<>();
        SDVariable x = input;
        for (FunctionalLayer layer : layers) {
            FunctionalLayer.Pass pass = layer.forward(x, values);
            passes.add(pass);
            x = pass.output();
        }
        return passes;
    }

    /**
     * The value of every parameter: the given expression, or the parameter's current value. That is the variable
     * named as the parameter, whether it has its slot yet or not (one it never had keeps costing nothing; if it gets
     * one later, this expression is moved onto it with every other reader).
     */
    private Map<String, SDVariable> values(Map<String, SDVariable> given) {
        Map<String, SDVariable> values = new LinkedHashMap<>();
        parameterVariables.forEach((key, variable) ->
                values.put(key, given.containsKey(key) ? given.get(key) : graph.sameDiff().getVariable(variable)));
        return values;
    }

    /**
     * Runs {@code body} in a fresh name scope ({@code functional/}, {@code functional_1/}, ...); on any exception
     * removes whatever it added.
     */
    private <T> T build(String what, Supplier<T> body) {
        SameDiff sd = graph.sameDiff();
        GraphEdits.Snapshot rollback = GraphEdits.snapshot(sd);
        NameScope scope = sd.withNameScope(freeScope(sd, what));
        boolean built = false;
        try {
            T result = body.get();
            built = true;
            return result;
        } finally {
            scope.close();
            if (!built) {
                rollback.rollback();
            }
        }
    }

    private static String freeScope(SameDiff sd, String base) {
        Set<String> taken = new HashSet<>();
        for (String name : sd.getVariables().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0) {
                taken.add(name.substring(0, slash));
            }
        }
        String scope = base;
        for (int i = 1; taken.contains(scope) || sd.hasVariable(scope); i++) {
            scope = base + "_" + i;
        }
        return scope;
    }

    /** Renames {@code v} to {@code <scope>/<name>} when that name is free (a variable produced by this call). */
    private static SDVariable name(SDVariable v, String name) {
        SameDiff sd = v.getSameDiff();
        String scope = sd.currentNameScope();
        String full = scope == null ? name : scope + "/" + name;
        if (v.name().startsWith(scope == null ? "" : scope + "/") && !sd.hasVariable(full)) {
            sd.renameVariable(v.name(), full);
            return sd.getVariable(full);
        }
        return v;
    }

    private void requireLoss() {
        if (!hasLoss()) {
            throw new IllegalStateException("The network does not end with an output layer, so it has no loss.");
        }
    }

    /**
     * Checks, before anything is added to the graph: {@code input} (and {@code labels}) belong to this graph, have
     * the graph's data type and, where their shapes are known, rank 2 and the network's input (output) width; every
     * key of {@code parameters} is a parameter of the network, and its expression belongs to this graph, has the
     * parameter's data type and, where known, its shape.
     *
     * @throws IllegalArgumentException naming the argument or key at fault
     */
    private void checkArguments(SDVariable input, SDVariable labels, Map<String, SDVariable> parameters) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(parameters, "parameters");
        DataType type = graph.param(parameterVariables.values().iterator().next()).dataType();
        checkExpression("The input \"" + input.name() + "\"", input, type, new long[] {-1, inputWidth});
        if (labels != null) {
            checkExpression("The labels \"" + labels.name() + "\"", labels, type,
                    new long[] {-1, layers.get(layers.size() - 1).width()});
        }
        for (Map.Entry<String, SDVariable> e : parameters.entrySet()) {
            String key = e.getKey();
            String variable = key == null ? null : parameterVariables.get(key);
            if (variable == null) {
                throw new IllegalArgumentException("No parameter with key \"" + key + "\" exists in this network. "
                        + "Known keys: " + parameterVariables.keySet() + ".");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("The expression for parameter \"" + key + "\" is null.");
            }
            long[] expected = graph.param(variable).shape();
            checkExpression("The expression \"" + e.getValue().name() + "\" for parameter \"" + key + "\"",
                    e.getValue(), graph.param(variable).dataType(), expected);
        }
    }

    private void checkExpression(String what, SDVariable v, DataType type, long[] expected) {
        SameDiff sd = graph.sameDiff();
        if (v.getSameDiff() != sd || !sd.hasVariable(v.name())) {
            throw new IllegalArgumentException(what + " belongs to another SameDiff graph; it must be an expression "
                    + "of this network's graph (graph().sameDiff()).");
        }
        if (v.dataType() != type) {
            throw new IllegalArgumentException(what + " has data type " + v.dataType() + "; expected " + type + ".");
        }
        long[] shape = v.getShape();
        if (shape == null) {
            return;
        }
        boolean matches = shape.length == expected.length;
        for (int d = 0; matches && d < shape.length; d++) {
            matches = shape[d] < 0 || expected[d] < 0 || shape[d] == expected[d];
        }
        if (!matches) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(shape) + "; expected "
                    + Arrays.toString(expected).replace("-1", "any") + ".");
        }
    }

    /** Collects the layers of a chain and checks each has an explicit backward rule. */
    private static final class Builder {
        private final List<FunctionalLayer> layers = new ArrayList<>();
        private long width = -1;
        private long inputWidth = -1;

        void add(String description, String keyPrefix, Layer layer, InputPreProcessor preProcessor, boolean miniBatch,
                 boolean last) {
            if (preProcessor != null) {
                throw new UnsupportedLayerException(description + " has the input pre-processor "
                        + preProcessor.getClass().getSimpleName() + ", which forward, loss and lossGradients do not "
                        + "apply. Supported: feed-forward layers without pre-processors.");
            }
            Class<?> type = layer.getClass();
            if (type == DenseLayer.class || type == OutputLayer.class) {
                FeedForwardLayer ff = (FeedForwardLayer) layer;
                if (type == DenseLayer.class && ((DenseLayer) layer).hasLayerNorm()) {
                    throw new UnsupportedLayerException(description + " uses layer normalisation, which has no "
                            + "explicit backward rule. Supported: DenseLayer without layer norm.");
                }
                if (layers.stream().noneMatch(FunctionalLayer::affine)) {
                    inputWidth = ff.getNIn();
                }
                boolean hasBias = type == DenseLayer.class ? ((DenseLayer) layer).hasBias() : ((OutputLayer) layer).hasBias();
                DifferentiableLoss loss = null;
                if (type == OutputLayer.class && last) {
                    OutputLayer out = (OutputLayer) layer;
                    loss = DifferentiableLoss.of(out.getLossFn(), miniBatch, ff.getNOut());
                    if (loss == null) {
                        throw new UnsupportedLayerException(description + " uses the loss function "
                                + out.getLossFn() + ", which has no explicit gradient. Supported: "
                                + String.join(", ", DifferentiableLoss.SUPPORTED) + ".");
                    }
                }
                width = ff.getNOut();
                layers.add(new FunctionalLayer(description, keyPrefix, true, hasBias, 2,
                        activation(description, ((BaseLayer) layer)
                                .getActivationFn()), width, loss));
            } else if (type == ActivationLayer.class) {
                layers.add(new FunctionalLayer(description, keyPrefix, false, false, 0,
                        activation(description, ((ActivationLayer) layer).getActivationFn()), width, null));
            } else if (type == DropoutLayer.class) {
                layers.add(new FunctionalLayer(description, keyPrefix, false, false, 0,
                        DifferentiableActivation.of(null), width, null));
            } else {
                throw new UnsupportedLayerException(description + " cannot be used by forward, loss and "
                        + "lossGradients, which have explicit backward rules for " + SUPPORTED_LAYERS + " only.");
            }
        }

        private DifferentiableActivation activation(String description, IActivation fn) {
            DifferentiableActivation a = DifferentiableActivation.of(fn);
            if (a == null || (a.isSoftmax() && width < 0)) {
                throw new UnsupportedLayerException(description + " uses the activation " + fn + ", which has no "
                        + "explicit backward rule" + (a == null ? "" : " before the width is known") + ". Supported: "
                        + String.join(", ", DifferentiableActivation.SUPPORTED) + ".");
            }
            return a;
        }

        FunctionalNetwork build(MutableGraph graph, ConvertedNetwork converted) {
            if (layers.stream().noneMatch(FunctionalLayer::affine)) {
                throw new UnsupportedLayerException("forward, loss and lossGradients need a network with at least "
                        + "one DenseLayer or OutputLayer.");
            }
            Map<String, String> variables = new LinkedHashMap<>();
            List<FunctionalLayer> resolved = new ArrayList<>();
            for (FunctionalLayer layer : layers) {
                if (layer.affine()) {
                    variables.put(layer.weightKey(), variable(converted, layer.weightKey()));
                    if (layer.hasBias()) {
                        String bias = variable(converted, layer.biasKey());
                        variables.put(layer.biasKey(), bias);
                        layer = new FunctionalLayer(layer.description(), layer.keyPrefix(), true, true,
                                graph.param(bias).shape().length, layer.activation(), layer.width(), layer.loss());
                    }
                }
                resolved.add(layer);
            }
            return new FunctionalNetwork(graph, Collections.unmodifiableMap(variables), List.copyOf(resolved),
                    inputWidth);
        }

        private static String variable(ConvertedNetwork converted, String key) {
            String v = converted.parameterVariables().get(key);
            if (v == null) {
                throw new IllegalStateException("The converted graph has no parameter \"" + key + "\".");
            }
            return v;
        }
    }
}
