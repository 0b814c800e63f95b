package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.dl4j.internal.LayerFunctions;
import org.mutablemodules.samediff.FlatSplit;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One SameDiff graph holding a target network (a DL4J {@code MultiLayerNetwork} converted by {@link MutableNetwork}),
 * a hypernetwork that maps a context vector to some of the target's parameters, and two ways of using them:
 *
 * <ul>
 *   <li><b>Per example</b>, for training and prediction: placeholder {@value #CONTEXT} ({@code [N, K]}, one context per
 *       example) → hypernetwork → per-example parameters. The layers before the first generated parameter are the
 *       converted network's own (its activations are read); from that layer on the graph computes each dense layer
 *       itself, {@code y_i = act(x_i W(c_i) + b(c_i))}, with {@code W(c_i)} a {@code [N, nIn, nOut]} tensor and a
 *       rank-3 {@code mmul} of {@code [N, 1, nIn]} by it, so one minibatch mixes contexts. Non-generated parameters
 *       of those layers are the converted network's mutable parameters. Output {@value #PREDICTION}, loss
 *       {@value #LOSS} (example weights in {@value #WEIGHTS}, labels the converted network's labels).</li>
 *   <li><b>One context</b>, for specialisation: placeholder {@value #CONTEXT1} ({@code [1, K]}) → the same
 *       hypernetwork → one flat vector that feeds the generated mutable parameters through
 *       {@code MutableGraph.setFromFlat} (full generation) or {@link FlatSplit} and {@code addi} (residual), so
 *       {@code MutableNetwork.toMultiLayerNetwork} bakes that context's weights into a plain network.</li>
 * </ul>
 *
 * <p>Generated parameter {@code g} is, for context {@code c}, {@code head_g(h(c))} (full) or
 * {@code base_g + head_g(h(c))} (residual), where {@code h} is the hypernetwork's hidden layers and {@code head_g} a
 * linear map to the parameter's elements in row-major order. Heads start so that every context generates the target's
 * DL4J initialisation (full: the head's bias is that initialisation; residual: the base is, and the head adds
 * little).
 */
final class HyperGraph {

    static final String CONTEXT = "hyper/context";
    static final String CONTEXT1 = "hyper/context1";
    static final String PREDICTION = "hyper/prediction";
    static final String WEIGHTS = "hyper/weights";
    static final String LOSS = "hyper/loss";

    /** What the hypernetwork is: its target, which parameters it generates and how, and its own shape. */
    static final class Spec {
        final NetworkSpec target;
        final int contextWidth;
        final List<String> generatedKeys;
        final boolean residual;
        final int[] hiddenSizes;
        final Activation hiddenActivation;

        Spec(NetworkSpec target, int contextWidth, List<String> generatedKeys, boolean residual, int[] hiddenSizes,
             Activation hiddenActivation) {
            this.target = target;
            this.contextWidth = contextWidth;
            this.generatedKeys = List.copyOf(generatedKeys);
            this.residual = residual;
            this.hiddenSizes = hiddenSizes.clone();
            this.hiddenActivation = hiddenActivation;
        }
    }

    final Spec spec;
    final MultiLayerNetwork target;
    final MutableNetwork mutable;
    final SameDiff sd;
    final List<String> hyperVariables = new ArrayList<>();

    private HyperGraph(Spec spec, MultiLayerNetwork target, MutableNetwork mutable) {
        this.spec = spec;
        this.target = target;
        this.mutable = mutable;
        this.sd = mutable.graph().sameDiff();
    }

    /**
     * Checks that {@code keys} can be generated: every key names a parameter of the network, and every layer from
     * the first generated one on is a dense or output layer the graph can compute itself.
     *
     * @throws IllegalArgumentException naming the unknown key or the unsupported layer
     */
    static void check(NetworkSpec target, MultiLayerNetwork net, List<String> keys) {
        Map<String, INDArray> table = net.paramTable();
        for (String key : keys) {
            if (!table.containsKey(key)) {
                throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_GENERATED, key, table.keySet()));
            }
        }
        MultiLayerConfiguration conf = target.layers();
        for (int l = firstGenerated(keys); l < conf.getConfs().size(); l++) {
            Layer layer = conf.getConf(l).getLayer();
            boolean dense = layer instanceof DenseLayer && ((DenseLayer) layer).hasBias();
            boolean output = layer instanceof OutputLayer && ((OutputLayer) layer).hasBias();
            if (!(dense || output) || conf.getInputPreProcess(l) != null) {
                throw new IllegalArgumentException(Messages.format(Messages.UNSUPPORTED_TARGET_LAYER, l,
                        layer.getClass().getSimpleName()));
            }
            LayerFunctions.checkActivation(((BaseLayer) layer).getActivationFn(), "Layer " + l);
        }
    }

    private static int firstGenerated(List<String> keys) {
        int first = Integer.MAX_VALUE;
        for (String key : keys) {
            first = Math.min(first, Integer.parseInt(key.substring(0, key.indexOf('_'))));
        }
        return first;
    }

    /**
     * Builds the graph.
     *
     * @param target    the target network, initialised; its parameters are the shared values and residual bases
     * @param hyper     the hypernetwork's arrays by variable name, or null to initialise them from {@code rng}
     * @param rng       the random stream for a new hypernetwork (unused when {@code hyper} is given)
     */
    static HyperGraph build(Spec spec, MultiLayerNetwork target, Map<String, INDArray> hyper, SplittableRandom rng) {
        check(spec.target, target, spec.generatedKeys);
        HyperGraph g = new HyperGraph(spec, target, MutableNetwork.of(target));
        g.define(hyper, rng);
        return g;
    }

    private void define(Map<String, INDArray> hyper, SplittableRandom rng) {
        DataType type = spec.target.dataType();
        SDVariable context = sd.placeHolder(CONTEXT, type, -1, spec.contextWidth);
        SDVariable context1 = sd.placeHolder(CONTEXT1, type, 1, spec.contextWidth);

        // The hypernetwork's variables, shared by both paths.
        List<SDVariable[]> hidden = new ArrayList<>();
        int in = spec.contextWidth;
        for (int i = 0; i < spec.hiddenSizes.length; i++) {
            int out = spec.hiddenSizes[i];
            double scale = Math.sqrt(2.0 / (in + out));
            hidden.add(new SDVariable[] {
                variable("hyper/layer" + i + "/W", hyper, gaussian(rng, type, scale, in, out)),
                variable("hyper/layer" + i + "/b", hyper, Nd4j.zeros(type, out))});
            in = out;
        }
        Map<String, SDVariable[]> heads = new LinkedHashMap<>();
        for (String key : spec.generatedKeys) {
            INDArray initial = target.getParam(key);
            long size = initial.length();
            double scale = layerScale(key) / Math.sqrt(in);
            INDArray bias = spec.residual ? Nd4j.zeros(type, size) : Nd4j.toFlattened('c', initial).reshape(size).castTo(type);
            heads.put(key, new SDVariable[] {
                variable("hyper/head/" + key + "/W", hyper, gaussian(rng, type, scale, in, size)),
                variable("hyper/head/" + key + "/b", hyper, bias)});
        }

        Map<String, SDVariable> perExample = generate(context, hidden, heads);
        SDVariable[] outputLayer = perExampleForward(perExample);
        sd.updateVariableNameAndReference(outputLayer[1], PREDICTION, true);

        SDVariable weights = sd.placeHolder(WEIGHTS, type, -1, 1);
        BaseOutputLayer out = spec.target.outputLayer();
        SDVariable lossValue = LayerFunctions.weightedLoss(out.getLossFn(), out.getActivationFn(), outputLayer[0],
                sd.getVariable(PREDICTION), sd.getVariable(mutable.labelName()), weights, "The output layer");
        sd.updateVariableNameAndReference(lossValue, LOSS, true);
        sd.setLossVariables(LOSS);

        Map<String, SDVariable> single = generate(context1, hidden, heads);
        SDVariable[] pieces = single.values().toArray(new SDVariable[0]);
        SDVariable flat = pieces.length == 1 ? pieces[0] : sd.concat(1, pieces);
        String[] names = spec.generatedKeys.stream().map(k -> mutable.param(k).name()).toArray(String[]::new);
        if (spec.residual) {
            long[][] shapes = spec.generatedKeys.stream().map(k -> mutable.param(k).shape()).toArray(long[][]::new);
            List<SDVariable> deltas = FlatSplit.split(flat, shapes);
            for (int i = 0; i < names.length; i++) {
                mutable.graph().param(names[i]).addi(deltas.get(i));
            }
        } else {
            mutable.graph().setFromFlat(flat, names);
        }
    }

    /** The hypernetwork applied to {@code context} ({@code [rows, K]}): one {@code [rows, size]} piece per key. */
    private Map<String, SDVariable> generate(SDVariable context, List<SDVariable[]> hidden,
                                             Map<String, SDVariable[]> heads) {
        IActivation activation = spec.hiddenActivation.getActivationFunction();
        SDVariable h = context;
        for (SDVariable[] layer : hidden) {
            h = LayerFunctions.activation(activation, h.mmul(layer[0]).add(layer[1]), "The hypernetwork");
        }
        Map<String, SDVariable> pieces = new LinkedHashMap<>();
        for (Map.Entry<String, SDVariable[]> e : heads.entrySet()) {
            pieces.put(e.getKey(), h.mmul(e.getValue()[0]).add(e.getValue()[1]));
        }
        return pieces;
    }

    /**
     * The target's layers from the first generated one on, with per-example parameters; returns the last layer's
     * pre-activations and activations.
     */
    private SDVariable[] perExampleForward(Map<String, SDVariable> generated) {
        MultiLayerConfiguration conf = spec.target.layers();
        int first = firstGenerated(spec.generatedKeys);
        SDVariable a = first == 0 ? sd.getVariable(mutable.inputName()) : mutable.activations("layer" + (first - 1));
        for (int l = first; l < conf.getConfs().size(); l++) {
            FeedForwardLayer layer = (FeedForwardLayer) conf.getConf(l).getLayer();
            long nIn = layer.getNIn();
            long nOut = layer.getNOut();
            String wKey = l + "_W";
            String bKey = l + "_b";
            SDVariable z;
            if (generated.containsKey(wKey)) {
                SDVariable w = sd.reshape(generated.get(wKey), -1, nIn, nOut);
                if (spec.residual) {
                    w = w.add(mutable.param(wKey).initial());
                }
                z = sd.reshape(sd.reshape(a, -1, 1, nIn).mmul(w), -1, nOut);
            } else {
                z = a.mmul(mutable.param(wKey).value());
            }
            if (generated.containsKey(bKey)) {
                SDVariable b = generated.get(bKey);
                if (spec.residual) {
                    b = b.add(mutable.param(bKey).initial());
                }
                z = z.add(b);
            } else {
                z = z.add(mutable.param(bKey).value());
            }
            a = LayerFunctions.activation(((BaseLayer) layer).getActivationFn(), z, "Layer " + l);
            if (l == conf.getConfs().size() - 1) {
                return new SDVariable[] {z, a};
            }
        }
        throw new IllegalStateException("The target network has no layer from layer " + first + " on.");
    }

    /** The scale of a layer's Xavier initialisation, {@code sqrt(2 / (nIn + nOut))}: how large its weights are. */
    private double layerScale(String key) {
        INDArray w = target.getParam(key.substring(0, key.indexOf('_') + 1) + "W");
        return Math.sqrt(2.0 / (w.size(0) + w.size(1)));
    }

    private SDVariable variable(String name, Map<String, INDArray> given, INDArray fresh) {
        INDArray value = given == null ? fresh : given.get(name);
        if (value == null || !Arrays.equals(value.shape(), fresh.shape())) {
            throw new IllegalStateException("The hypernetwork array " + name + " is "
                    + (value == null ? "missing" : "of shape " + Arrays.toString(value.shape())) + "; expected "
                    + Arrays.toString(fresh.shape()) + ".");
        }
        hyperVariables.add(name);
        return sd.var(name, value.castTo(fresh.dataType()).dup());
    }

    private static INDArray gaussian(SplittableRandom rng, DataType type, double scale, long rows, long columns) {
        double[] values = new double[Math.toIntExact(rows * columns)];
        if (rng != null) {
            for (int i = 0; i < values.length; i++) {
                values[i] = rng.nextGaussian() * scale;
            }
        }
        return Nd4j.createFromArray(values).reshape('c', new long[] {rows, columns}).castTo(type);
    }

    /** The hypernetwork's current arrays, by variable name (copies). */
    Map<String, INDArray> hyperArrays() {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        for (String name : hyperVariables) {
            arrays.put(name, sd.getVariable(name).getArr().dup());
        }
        return arrays;
    }

    /**
     * The target's parameters as trained: shared parameters and residual bases take their trained values; fully
     * generated parameters keep their initial values (unused). DL4J's flat vector, a copy.
     */
    INDArray targetParameters() {
        for (String key : mutable.parameterKeys()) {
            MutableParameter p = mutable.param(key);
            INDArray value = p.initial().getArr();
            if (value != null) {
                target.getParam(key).assign(value.reshape(target.getParam(key).shape()));
            }
        }
        return target.params().dup();
    }

    /**
     * Per-example predictions: {@code [N, outputs]}, for inputs {@code [N, nIn]} and contexts {@code [N, K]}.
     */
    INDArray predict(INDArray input, INDArray context) {
        Map<String, INDArray> feed = new LinkedHashMap<>();
        feed.put(mutable.inputName(), input);
        feed.put(CONTEXT, context);
        return mutable.graph().output(feed, PREDICTION).get(PREDICTION);
    }

    /** The target network with the weights generated for one context ({@code [1, K]}) baked in: a plain copy. */
    MultiLayerNetwork bake(INDArray context) {
        return mutable.toMultiLayerNetwork(Map.of(CONTEXT1, context));
    }
}
