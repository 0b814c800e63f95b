package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.dl4j.internal.LayerFunctions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
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
 * A Tribuo {@link Trainer} for a DL4J network configuration, trained through the network converted into a mutable
 * SameDiff graph ({@link MutableNetwork}): minibatches, epochs, shuffling with a seeded {@link SplittableRandom} (as
 * Tribuo's {@code AbstractSGDTrainer}), one ND4J updater for every parameter, and example weights.
 *
 * <pre>{@code
 * MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
 *         .layer(new DenseLayer.Builder().nIn(4).nOut(16).activation(Activation.TANH).build())
 *         .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
 *         .build();
 * MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(conf)
 *         .updater(new Adam(0.01)).epochs(100).minibatchSize(16).seed(1L)
 *         .build();
 * MutableNetworkModel<Label> model = trainer.train(dataset);
 * }</pre>
 *
 * <p><b>Columns.</b> The network reads one row per example with one column per feature of the dataset, in Tribuo's
 * feature id order, which is the <em>sorted feature names</em> (not, say, a CSV's column order); a feature an example
 * lacks is 0. The first layer's {@code nIn} must be the dataset's number of features and the output layer's
 * {@code nOut} its number of outputs (labels, or regression dimensions, ordered as {@link OutputKind} says); both are
 * checked before training. Feature scaling is the user's business: wrap this trainer in Tribuo's
 * {@code TransformTrainer}.
 *
 * <p><b>Heads.</b> Classification needs a softmax output layer with the MCXENT (or negative log-likelihood) loss;
 * predictions carry the probabilities. Regression takes the MSE, L2, MAE or L1 loss; by default
 * ({@code standardiseTargets}) each target dimension is standardised to mean 0 and variance 1 for training, so
 * targets of any scale train with the usual learning rates, and the scale is folded back into the output layer's
 * weights, so the trained network predicts in the targets' own units (this needs an identity output activation). The
 * means and scales are recorded in the model's provenance ({@value #TARGET_MEANS}, {@value #TARGET_SCALES}).
 *
 * <p><b>Loss and weights.</b> Training minimises the configuration's loss with example weights: each minibatch's loss
 * is {@code sum_i w_i loss_i / sum_i w_i}, which is DL4J's score when every weight is 1. Regularisation, dropout and
 * per-layer updaters in the configuration are not used (the graph computes what DL4J computes at inference); the
 * trainer's updater trains every parameter. The configuration's seed is replaced by one drawn from this trainer's
 * random stream.
 *
 * <p>The trainer is an OLCUT {@code Configurable}: every property below can be set from a configuration file, and its
 * provenance ({@link NetworkTrainerProvenance}) records them all, the configuration's JSON included, so a model's
 * trainer can be rebuilt from the model's provenance.
 *
 * @param <T> the output type: {@link Label} or {@link Regressor}
 */
public final class MutableNetworkTrainer<T extends Output<T>>
        extends AbstractNetworkTrainer<T, MutableNetworkModel<T>> {

    /** The name of the model provenance entry with the regression targets' means (natural order). */
    public static final String TARGET_MEANS = "target-means";
    /** The name of the model provenance entry with the regression targets' scales (natural order). */
    public static final String TARGET_SCALES = "target-scales";

    private static final Logger log = LoggerFactory.getLogger(MutableNetworkTrainer.class);

    /** For OLCUT. */
    private MutableNetworkTrainer() {
    }

    /**
     * Starts a classification trainer: the network must end in a softmax output layer with the MCXENT (or negative
     * log-likelihood) loss, whose {@code nOut} is the number of labels.
     *
     * @param conf the network; its first layer's {@code nIn} is the number of features
     * @return a builder; {@link Builder#build()} checks the configuration
     */
    public static Builder<Label> classification(MultiLayerConfiguration conf) {
        return new Builder<>(OutputKind.LABEL, NetworkSpec.of(conf).json());
    }

    /**
     * Starts a classification trainer for a single-input, single-output {@code ComputationGraph}; see
     * {@link #classification(MultiLayerConfiguration)}.
     *
     * @param conf the network's configuration
     * @return a builder; {@link Builder#build()} checks the configuration
     * @throws IllegalArgumentException if the graph has several inputs or outputs
     */
    public static Builder<Label> classification(ComputationGraphConfiguration conf) {
        return new Builder<>(OutputKind.LABEL, NetworkSpec.of(conf).json());
    }

    /**
     * Starts a regression trainer: the network's output layer takes the MSE, L2, MAE or L1 loss, and its {@code nOut}
     * is the number of regression dimensions, in Tribuo's natural (sorted-name) order. Targets are standardised for
     * training unless {@link Builder#standardiseTargets(boolean)} says otherwise (see the class documentation), which
     * needs an identity output activation.
     *
     * @param conf the network; its first layer's {@code nIn} is the number of features
     * @return a builder; {@link Builder#build()} checks the configuration
     */
    public static Builder<Regressor> regression(MultiLayerConfiguration conf) {
        return new Builder<>(OutputKind.REGRESSOR, NetworkSpec.of(conf).json());
    }

    /**
     * Starts a regression trainer for a single-input, single-output {@code ComputationGraph}; see
     * {@link #regression(MultiLayerConfiguration)}.
     *
     * @param conf the network's configuration
     * @return a builder; {@link Builder#build()} checks the configuration
     * @throws IllegalArgumentException if the graph has several inputs or outputs
     */
    public static Builder<Regressor> regression(ComputationGraphConfiguration conf) {
        return new Builder<>(OutputKind.REGRESSOR, NetworkSpec.of(conf).json());
    }

    /**
     * Starts a trainer for a network configuration saved as JSON ({@code conf.toJson()} of either configuration
     * type).
     *
     * @param kind     {@link OutputKind#LABEL} for a {@code MutableNetworkTrainer<Label>},
     *                 {@link OutputKind#REGRESSOR} for a {@code MutableNetworkTrainer<Regressor>}
     * @param jsonFile the configuration file
     * @param <U>      the output type {@code kind} stands for
     * @return a builder; {@link Builder#build()} checks the configuration
     * @throws UncheckedIOException if the file cannot be read
     */
    public static <U extends Output<U>> Builder<U> fromJsonFile(OutputKind kind, Path jsonFile) {
        return new Builder<>(Objects.requireNonNull(kind, "kind"), readJson(jsonFile));
    }

    /**
     * Builds a {@code MutableNetworkTrainer}: the updater, epochs, minibatch size, seed and the other options of
     * {@link AbstractNetworkTrainer.Builder}.
     *
     * @param <T> the output type
     */
    public static final class Builder<T extends Output<T>>
            extends AbstractNetworkTrainer.Builder<T, MutableNetworkTrainer<T>, Builder<T>> {

        private Builder(OutputKind kind, String json) {
            super(new MutableNetworkTrainer<>(), kind, json);
        }

        @Override
        Builder<T> self() {
            return this;
        }
    }

    @Override
    void checkExamples(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter) {
        ImmutableFeatureMap features = examples.getFeatureIDMap();
        checkWidths(spec, features, examples.getOutputIDInfo(), converter, features.size());
    }

    @Override
    MutableNetworkModel<T> trainModel(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter,
                                      Map<String, Provenance> runProvenance, SplittableRandom localRng,
                                      TrainerProvenance trainerProvenance) {
        ImmutableFeatureMap features = examples.getFeatureIDMap();
        ImmutableOutputInfo<T> outputs = examples.getOutputIDInfo();
        DataType type = spec.dataType();
        INDArray x = FeatureMatrix.of(list, features, FeatureMatrix.Columns.allInputs(features), type).blocks[0];
        INDArray y = converter.targets(list, outputs, type);
        Standardisation standardisation = outputKind == OutputKind.REGRESSOR && standardiseTargets
                ? Standardisation.of(y) : null;
        if (standardisation != null) {
            y = standardisation.apply(y);
        }
        log.info("Training {} on {} examples: {} features, {} outputs, {} epochs of minibatches of {}",
                spec.isGraph() ? "a ComputationGraph" : "a MultiLayerNetwork", list.size(), features.size(),
                outputs.size(), epochs, minibatchSize);

        Model initial = spec.newNetwork(localRng.nextLong());
        MutableNetwork mutable = spec.isGraph() ? MutableNetwork.of((ComputationGraph) initial)
                : MutableNetwork.of((MultiLayerNetwork) initial);
        SameDiff sd = mutable.graph().sameDiff();
        SDVariable weights = sd.placeHolder("tribuo/weights", type, -1, 1);
        BaseOutputLayer out = spec.outputLayer();
        SDVariable output = sd.getVariable(mutable.outputName());
        SDVariable loss = LayerFunctions.weightedLoss(out.getLossFn(), out.getActivationFn(),
                LayerFunctions.softmaxInput(output), output, sd.getVariable(mutable.labelName()), weights,
                "The output layer");
        sd.updateVariableNameAndReference(loss, "tribuo/loss", true);
        sd.setLossVariables("tribuo/loss");

        fitMinibatches(sd, "tribuo/loss", weights.name(), Map.of(mutable.inputName(), x, mutable.labelName(), y),
                list, localRng, log);

        Model trained = spec.isGraph() ? mutable.toComputationGraph(Map.of()) : mutable.toMultiLayerNetwork(Map.of());
        Map<String, Provenance> instance = new HashMap<>(runProvenance);
        if (standardisation != null) {
            spec.foldStandardisation(trained, standardisation.means, standardisation.scales);
            instance.putAll(standardisation.provenance());
        }
        ModelProvenance provenance = new ModelProvenance(MutableNetworkModel.class.getName(), OffsetDateTime.now(),
                examples.getProvenance(), trainerProvenance, instance);
        return new MutableNetworkModel<>("mutable-network-model", provenance, features, outputs, outputKind,
                spec.json(), trained.params(), predictionBatchSize);
    }

    @Override
    public String toString() {
        return "MutableNetworkTrainer(outputKind=" + outputKind + ",network=" + (spec.isGraph() ? "ComputationGraph"
                : "MultiLayerNetwork") + ",updater=" + iUpdater + ",epochs=" + epochs + ",minibatchSize="
                + minibatchSize + ",seed=" + seed + ",shuffle=" + shuffle + ",standardiseTargets="
                + standardiseTargets + ")";
    }
}
