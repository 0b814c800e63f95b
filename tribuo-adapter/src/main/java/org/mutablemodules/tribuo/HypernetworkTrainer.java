package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.internal.LayerFunctions;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.provenance.ModelProvenance;
import org.tribuo.provenance.TrainerProvenance;
import org.tribuo.regression.Regressor;

/**
 * A Tribuo {@link Trainer} of hypernetwork-conditioned models: some features of each example are its <em>context</em>
 * (say, which machine, patient or task it comes from, described by numbers), and a hypernetwork maps the context to
 * some or all parameters of a target DL4J network, which maps the other features to the output. Both are trained end
 * to end, in one mutable SameDiff graph: the target is converted by {@code MutableNetwork}, and the hypernetwork feeds
 * its parameters.
 *
 * <pre>{@code
 * HypernetworkTrainer<Regressor> trainer = HypernetworkTrainer.regression(conf)   // conf reads the non-context
 * features
 *         .contextPrefix("context.")            // features named context.* are the context
 *         .generate("1_W", "1_b")               // the last layer's parameters (default: all)
 *         .generation(HypernetworkTrainer.Generation.RESIDUAL)
 *         .hypernetwork(new int[] {32}, Activation.TANH)
 *         .updater(new Adam(0.01)).epochs(100).minibatchSize(32).seed(1L)
 *         .build();
 * HypernetworkModel<Regressor> model = trainer.train(data);
 * MutableNetworkModel<Regressor> one = model.specialize(Map.of("context.a", 0.3, "context.b", -1.0));
 * }</pre>
 *
 * <p><b>Features.</b> The context features are those whose names start with the prefix, or those listed; every
 * example must carry every context feature (a missing one is an error, not a 0). The target network reads the
 * remaining features in Tribuo's feature id order (sorted names), so its first layer's {@code nIn} is their number,
 * and its output layer is as {@link MutableNetworkTrainer} requires (softmax with MCXENT for labels; MSE, L2, MAE or
 * L1 for regression, targets standardised by default and the scale recorded in provenance). The hypernetwork reads
 * the context features in sorted-name order.
 *
 * <p><b>Target.</b> A {@code MultiLayerConfiguration}. Layers before the first generated parameter may be any layer
 * {@code MutableNetwork} converts; from that layer on, layers must be {@code DenseLayer}s and a final
 * {@code OutputLayer} with biases, because the model computes them itself with per-example weights (a minibatch mixes
 * contexts: {@code y_i = act(x_i W(c_i) + b(c_i))}), with the DL4J adapter's own activation functions (any activation
 * it converts, with DL4J's numerics) and loss (DL4J's score, softmax clipping included, weighted per example).
 *
 * <p><b>Generation.</b> {@link Generation#FULL}: a generated parameter is the hypernetwork's output;
 * {@link Generation#RESIDUAL}: it is a trained base (the network's own parameter) plus the hypernetwork's output.
 * Either way the hypernetwork starts out generating DL4J's initialisation of the target for every context.
 *
 * @param <T> the output type: {@link Label} or {@link Regressor}
 */
public final class HypernetworkTrainer<T extends Output<T>>
        extends AbstractNetworkTrainer<T, HypernetworkModel<T>> {

    /** How generated parameters relate to the target network's own. */
    public enum Generation {
        /** The parameter is the hypernetwork's output for the context. */
        FULL,
        /** The parameter is a trained base plus the hypernetwork's output for the context. */
        RESIDUAL
    }

    private static final Logger log = LoggerFactory.getLogger(HypernetworkTrainer.class);

    @Config(description = "Features whose names start with this prefix are the context. Set this or "
            + "contextFeatures.")
    private String contextPrefix;

    @Config(description = "The names of the context features. Set this or contextPrefix.")
    private List<String> contextFeatures = new ArrayList<>();

    @Config(description = "DL4J network-level keys of the generated parameters (0_W, 1_b, ...); empty: all.")
    private List<String> generatedParameters = new ArrayList<>();

    @Config(description = "FULL: generated parameters are the hypernetwork's output; RESIDUAL: base plus output.")
    private Generation generation = Generation.FULL;

    @Config(description = "The widths of the hypernetwork's hidden layers (none: the heads read the context).")
    private int[] hiddenSizes = {32};

    @Config(description = "The activation of the hypernetwork's hidden layers.")
    private Activation hiddenActivation = Activation.TANH;

    /** For OLCUT. */
    private HypernetworkTrainer() {
    }

    /**
     * Starts a classification trainer for {@code conf} (softmax output layer, MCXENT loss).
     *
     * @param conf the target network, reading the non-context features
     * @return a builder; set the context with {@link Builder#contextPrefix} or {@link Builder#contextFeatures}
     */
    public static Builder<Label> classification(MultiLayerConfiguration conf) {
        return new Builder<>(OutputKind.LABEL, NetworkSpec.of(conf).json());
    }

    /**
     * Starts a regression trainer for {@code conf} (MSE, L2, MAE or L1 loss; identity output activation while
     * targets are standardised).
     *
     * @param conf the target network, reading the non-context features
     * @return a builder; set the context with {@link Builder#contextPrefix} or {@link Builder#contextFeatures}
     */
    public static Builder<Regressor> regression(MultiLayerConfiguration conf) {
        return new Builder<>(OutputKind.REGRESSOR, NetworkSpec.of(conf).json());
    }

    /**
     * Builds a {@link HypernetworkTrainer}; every option has a default but the context.
     *
     * @param <T> the output type
     */
    public static final class Builder<T extends Output<T>>
            extends AbstractNetworkTrainer.Builder<T, HypernetworkTrainer<T>, Builder<T>> {

        private Builder(OutputKind kind, String json) {
            super(new HypernetworkTrainer<>(), kind, json);
        }

        @Override
        Builder<T> self() {
            return this;
        }

        /**
         * Features whose names start with {@code prefix} are the context.
         *
         * @param prefix the prefix of the context features' names
         * @return this, for chaining
         */
        public Builder<T> contextPrefix(String prefix) {
            trainer.contextPrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /**
         * These features are the context.
         *
         * @param names the context features' names
         * @return this, for chaining
         */
        public Builder<T> contextFeatures(String... names) {
            trainer.contextFeatures = new ArrayList<>(Arrays.asList(names));
            return this;
        }

        /**
         * The target's parameters to generate, by DL4J network-level key ({@code 1_W}); default: all of them.
         *
         * @param keys DL4J network-level keys of the target's parameters ({@code 1_W})
         * @return this, for chaining
         */
        public Builder<T> generate(String... keys) {
            trainer.generatedParameters = new ArrayList<>(Arrays.asList(keys));
            return this;
        }

        /**
         * Generate every parameter of these layers (by index).
         *
         * @param layers the target's layer indices
         * @return this, for chaining
         */
        public Builder<T> generateLayers(int... layers) {
            List<String> keys = new ArrayList<>();
            for (int l : layers) {
                keys.add(l + "_W");
                keys.add(l + "_b");
            }
            trainer.generatedParameters = keys;
            return this;
        }

        /**
         * {@link Generation#FULL} (the default) or {@link Generation#RESIDUAL}.
         *
         * @param generation full or residual generation
         * @return this, for chaining
         */
        public Builder<T> generation(Generation generation) {
            trainer.generation = Objects.requireNonNull(generation, "generation");
            return this;
        }

        /**
         * The hypernetwork's hidden layer widths (default {@code {32}}; empty: linear) and their activation.
         *
         * @param activation the activation function
         * @param hiddenSizes the hypernetwork's hidden layer sizes
         * @return this, for chaining
         */
        public Builder<T> hypernetwork(int[] hiddenSizes, Activation activation) {
            trainer.hiddenSizes = hiddenSizes.clone();
            trainer.hiddenActivation = Objects.requireNonNull(activation, "activation");
            return this;
        }

        /**
         * The trainer.
         *
         * @throws IllegalArgumentException if the context is not set (or set twice), a number is not positive, a
         *                                  generated key is unknown, or a layer from the first generated one on is
         *                                  not supported (the message names it)
         */
        @Override
        public HypernetworkTrainer<T> build() {
            return super.build();
        }
    }

    @Override
    void checkOwnProperties() {
        boolean hasList = contextFeatures != null && !contextFeatures.isEmpty();
        if ((contextPrefix == null) == !hasList) {
            throw new PropertyException("", "contextPrefix", Messages.format(Messages.CONTEXT_NOT_ONCE,
                    contextPrefix == null ? "neither" : "both"));
        }
        for (int h : hiddenSizes) {
            positive("a hidden size", h);
        }
        LayerFunctions.checkActivation(hiddenActivation.getActivationFunction(), "The hypernetwork");
    }

    @Override
    void checkNetwork(NetworkSpec network) {
        if (network.isGraph()) {
            throw new IllegalArgumentException(Messages.GRAPH_TARGET);
        }
    }

    @Override
    void checkTarget(NetworkSpec network) {
        MultiLayerNetwork probe = (MultiLayerNetwork) network.newNetwork(0L);
        HyperGraph.check(network, probe, generatedKeys(probe));
    }

    private List<String> generatedKeys(MultiLayerNetwork net) {
        if (generatedParameters == null || generatedParameters.isEmpty()) {
            return new ArrayList<>(net.paramTable().keySet());
        }
        return new ArrayList<>(new LinkedHashSet<>(generatedParameters));
    }

    /** The context features of {@code features}: sorted names, as Tribuo numbers them. */
    private List<String> contextOf(ImmutableFeatureMap features) {
        Set<String> all = new TreeSet<>();
        features.forEach(info -> all.add(info.getName()));
        List<String> context = new ArrayList<>();
        if (contextPrefix != null) {
            for (String name : all) {
                if (name.startsWith(contextPrefix)) {
                    context.add(name);
                }
            }
            if (context.isEmpty()) {
                throw new IllegalArgumentException(Messages.format(Messages.NO_CONTEXT_FEATURES,
                        "names starting with \"" + contextPrefix + "\"", abbreviate(all)));
            }
            return context;
        }
        Set<String> wanted = new TreeSet<>(contextFeatures);
        Set<String> missing = new TreeSet<>(wanted);
        missing.removeAll(all);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(Messages.format(Messages.NO_CONTEXT_FEATURES, missing,
                    abbreviate(all)));
        }
        return new ArrayList<>(wanted);
    }

    private static String abbreviate(Set<String> names) {
        List<String> list = new ArrayList<>(names);
        return list.size() <= 12 ? list.toString()
                : list.subList(0, 12) + " and " + (list.size() - 12) + " more";
    }

    @Override
    void checkExamples(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter) {
        ImmutableFeatureMap features = examples.getFeatureIDMap();
        FeatureMatrix.Columns columns = FeatureMatrix.Columns.split(features, new TreeSet<>(contextOf(features)));
        checkWidths(spec, features, examples.getOutputIDInfo(), converter, columns.widths[0]);
    }

    @Override
    HypernetworkModel<T> trainModel(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter,
                                    Map<String, Provenance> runProvenance, SplittableRandom localRng,
                                    TrainerProvenance trainerProvenance) {
        ImmutableFeatureMap features = examples.getFeatureIDMap();
        ImmutableOutputInfo<T> outputs = examples.getOutputIDInfo();
        List<String> context = contextOf(features);
        FeatureMatrix.Columns columns = FeatureMatrix.Columns.split(features, new TreeSet<>(context));
        DataType type = spec.dataType();
        FeatureMatrix m = FeatureMatrix.of(list, features, columns, type);
        INDArray y = converter.targets(list, outputs, type);
        Standardisation standardisation = outputKind == OutputKind.REGRESSOR && standardiseTargets
                ? Standardisation.of(y) : null;
        if (standardisation != null) {
            y = standardisation.apply(y);
        }
        MultiLayerNetwork target = (MultiLayerNetwork) spec.newNetwork(localRng.nextLong());
        HyperGraph.Spec hyperSpec = new HyperGraph.Spec(spec, context.size(), generatedKeys(target),
                generation == Generation.RESIDUAL, hiddenSizes, hiddenActivation);
        log.info("Training a hypernetwork on {} examples: {} context features {}, {} input features, generating {} "
                + "({}), {} epochs of minibatches of {}", list.size(), context.size(), context, columns.widths[0],
                hyperSpec.generatedKeys, generation, epochs, minibatchSize);
        HyperGraph graph = HyperGraph.build(hyperSpec, target, null, localRng);

        fitMinibatches(graph.sd, HyperGraph.LOSS, HyperGraph.WEIGHTS, Map.of(graph.mutable.inputName(), m.blocks[0],
                HyperGraph.CONTEXT, m.blocks[1], graph.mutable.labelName(), y), list, localRng, log);

        Map<String, Provenance> instance = new HashMap<>(runProvenance);
        if (standardisation != null) {
            instance.putAll(standardisation.provenance());
        }
        ModelProvenance provenance = new ModelProvenance(HypernetworkModel.class.getName(), OffsetDateTime.now(),
                examples.getProvenance(), trainerProvenance, instance);
        return new HypernetworkModel<>("hypernetwork-model", provenance, features, outputs, outputKind, hyperSpec,
                context, graph.targetParameters(), graph.hyperArrays(), standardisation, predictionBatchSize);
    }

    @Override
    public String toString() {
        return "HypernetworkTrainer(outputKind=" + outputKind + ",context=" + (contextPrefix != null
                ? contextPrefix + "*" : contextFeatures) + ",generated=" + (generatedParameters.isEmpty() ? "all"
                : generatedParameters) + ",generation=" + generation + ",hidden=" + Arrays.toString(hiddenSizes)
                + "," + hiddenActivation + ",updater=" + iUpdater + ",epochs=" + epochs + ",minibatchSize="
                + minibatchSize + ",seed=" + seed + ")";
    }
}
