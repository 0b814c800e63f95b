package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Trainer;
import org.tribuo.WeightedExamples;
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
 * MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(conf, new Adam(0.01), 100, 16, 1L);
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
public final class MutableNetworkTrainer<T extends Output<T>> implements Trainer<T>, WeightedExamples {

    /** The name of the model provenance entry with the regression targets' means (natural order). */
    public static final String TARGET_MEANS = "target-means";
    /** The name of the model provenance entry with the regression targets' scales (natural order). */
    public static final String TARGET_SCALES = "target-scales";

    private static final Logger log = LoggerFactory.getLogger(MutableNetworkTrainer.class);

    @Config(mandatory = true, description = "The kind of output: LABEL or REGRESSOR.")
    private OutputKind outputKind;

    @Config(description = "The DL4J network configuration as JSON (MultiLayerConfiguration or "
            + "ComputationGraphConfiguration). Set this or networkPath.")
    private String networkJson;

    @Config(description = "A file holding the DL4J network configuration's JSON. Set this or networkJson.")
    private Path networkPath;

    @Config(description = "The ND4J updater as JSON, as DL4J writes it (e.g. {\"@class\":"
            + "\"org.nd4j.linalg.learning.config.Adam\",\"learningRate\":0.001,...}).")
    private String updater = Updaters.toJson(new Adam(1e-3));

    @Config(description = "The number of passes over the training data.")
    private int epochs = 50;

    @Config(description = "The number of examples per gradient step.")
    private int minibatchSize = 32;

    @Config(description = "The seed of the random stream that initialises the network and shuffles the examples.")
    private long seed = Trainer.DEFAULT_SEED;

    @Config(description = "Shuffle the examples before each epoch.")
    private boolean shuffle = true;

    @Config(description = "Log the mean training loss every this many epochs (-1: do not log).")
    private int loggingInterval = 10;

    @Config(description = "Regression only: standardise each target dimension for training (folded back into the "
            + "output layer afterwards).")
    private boolean standardiseTargets = true;

    @Config(description = "The number of examples per batch at prediction time.")
    private int predictionBatchSize = 256;

    private NetworkSpec spec;
    private IUpdater iUpdater;
    private SplittableRandom rng;
    private int trainInvocationCounter;

    /** For OLCUT. */
    private MutableNetworkTrainer() {
    }

    private MutableNetworkTrainer(OutputKind outputKind, String networkJson, IUpdater updater, int epochs,
                                  int minibatchSize, long seed) {
        this.outputKind = outputKind;
        this.networkJson = networkJson;
        this.updater = Updaters.toJson(Objects.requireNonNull(updater, "updater"));
        this.epochs = epochs;
        this.minibatchSize = minibatchSize;
        this.seed = seed;
        postConfig();
    }

    /**
     * A classification trainer: the network must end in a softmax output layer with the MCXENT (or negative
     * log-likelihood) loss, whose {@code nOut} is the number of labels.
     *
     * @param conf          the network; its first layer's {@code nIn} is the number of features
     * @param updater       the ND4J updater for every parameter, e.g. {@code new Adam(0.01)}
     * @param epochs        passes over the training data, at least 1
     * @param minibatchSize examples per gradient step, at least 1
     * @param seed          seed of the random stream (initialisation and shuffling)
     * @return the trainer
     * @throws IllegalArgumentException if a number is not positive, or the output layer is not a softmax with a
     *                                  cross-entropy loss (the message names the layer, activation and loss)
     */
    public static MutableNetworkTrainer<Label> classification(MultiLayerConfiguration conf, IUpdater updater,
                                                              int epochs, int minibatchSize, long seed) {
        return new MutableNetworkTrainer<>(OutputKind.LABEL, NetworkSpec.of(conf).json(), updater, epochs,
                minibatchSize, seed);
    }

    /**
     * A classification trainer for a single-input, single-output {@code ComputationGraph}; see
     * {@link #classification(MultiLayerConfiguration, IUpdater, int, int, long)}.
     *
     * @throws IllegalArgumentException as the {@code MultiLayerConfiguration} overload, or if the graph has several
     *                                  inputs or outputs
     */
    public static MutableNetworkTrainer<Label> classification(ComputationGraphConfiguration conf, IUpdater updater,
                                                              int epochs, int minibatchSize, long seed) {
        return new MutableNetworkTrainer<>(OutputKind.LABEL, NetworkSpec.of(conf).json(), updater, epochs,
                minibatchSize, seed);
    }

    /**
     * A regression trainer: the network's output layer takes the MSE, L2, MAE or L1 loss, and its {@code nOut} is the
     * number of regression dimensions, in Tribuo's natural (sorted-name) order. Targets are standardised for training
     * (see the class documentation), which needs an identity output activation.
     *
     * @param conf          the network; its first layer's {@code nIn} is the number of features
     * @param updater       the ND4J updater for every parameter
     * @param epochs        passes over the training data, at least 1
     * @param minibatchSize examples per gradient step, at least 1
     * @param seed          seed of the random stream (initialisation and shuffling)
     * @return the trainer
     * @throws IllegalArgumentException if a number is not positive, the loss is not supported, or the output
     *                                  activation is not the identity
     */
    public static MutableNetworkTrainer<Regressor> regression(MultiLayerConfiguration conf, IUpdater updater,
                                                              int epochs, int minibatchSize, long seed) {
        return new MutableNetworkTrainer<>(OutputKind.REGRESSOR, NetworkSpec.of(conf).json(), updater, epochs,
                minibatchSize, seed);
    }

    /**
     * A regression trainer for a single-input, single-output {@code ComputationGraph}; see
     * {@link #regression(MultiLayerConfiguration, IUpdater, int, int, long)}.
     *
     * @throws IllegalArgumentException as the {@code MultiLayerConfiguration} overload, or if the graph has several
     *                                  inputs or outputs
     */
    public static MutableNetworkTrainer<Regressor> regression(ComputationGraphConfiguration conf, IUpdater updater,
                                                              int epochs, int minibatchSize, long seed) {
        return new MutableNetworkTrainer<>(OutputKind.REGRESSOR, NetworkSpec.of(conf).json(), updater, epochs,
                minibatchSize, seed);
    }

    /**
     * A trainer for a network configuration saved as JSON ({@code conf.toJson()} of either configuration type).
     *
     * @param kind          {@link OutputKind#LABEL} for a {@code MutableNetworkTrainer<Label>},
     *                      {@link OutputKind#REGRESSOR} for a {@code MutableNetworkTrainer<Regressor>}
     * @param jsonFile      the configuration file
     * @param updater       the ND4J updater for every parameter
     * @param epochs        passes over the training data, at least 1
     * @param minibatchSize examples per gradient step, at least 1
     * @param seed          seed of the random stream
     * @param <U>           the output type {@code kind} stands for
     * @return the trainer
     * @throws UncheckedIOException     if the file cannot be read
     * @throws IllegalArgumentException if the configuration does not fit {@code kind}, or a number is not positive
     */
    public static <U extends Output<U>> MutableNetworkTrainer<U> fromJsonFile(OutputKind kind, Path jsonFile,
                                                                              IUpdater updater, int epochs,
                                                                              int minibatchSize, long seed) {
        return new MutableNetworkTrainer<>(kind, readJson(jsonFile), updater, epochs, minibatchSize, seed);
    }

    /**
     * Checks the configuration and sets up the random stream. Called by OLCUT after it sets the properties, and by
     * the factories.
     *
     * @throws PropertyException        if neither or both of networkJson and networkPath are set, or the file cannot
     *                                  be read
     * @throws IllegalArgumentException if a property is out of range or the network does not fit the output kind
     */
    @Override
    public synchronized void postConfig() {
        if ((networkJson == null) == (networkPath == null)) {
            throw new PropertyException("", "networkJson", Messages.format(Messages.NEITHER_CONFIGURATION,
                    networkJson == null ? "neither" : "both"));
        }
        String json;
        try {
            json = networkJson != null ? networkJson : readJson(networkPath);
        } catch (UncheckedIOException e) {
            throw new PropertyException(e, "", "networkPath", e.getMessage());
        }
        Objects.requireNonNull(outputKind, "outputKind");
        positive("epochs", epochs);
        positive("minibatchSize", minibatchSize);
        positive("predictionBatchSize", predictionBatchSize);
        this.spec = NetworkSpec.parse(json);
        spec.loss(outputKind);
        if (outputKind == OutputKind.REGRESSOR && standardiseTargets) {
            spec.checkStandardisable();
        }
        this.iUpdater = Updaters.fromJson(updater);
        this.rng = new SplittableRandom(seed);
    }

    static void positive(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(Messages.format(Messages.BAD_POSITIVE, what, value));
        }
    }

    static String readJson(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(Messages.format(Messages.NOT_A_FILE, file, e.getMessage()), e);
        }
    }

    /** The kind of output this trainer learns. */
    public OutputKind outputKind() {
        return outputKind;
    }

    @Override
    public MutableNetworkModel<T> train(Dataset<T> examples) {
        return train(examples, Collections.emptyMap());
    }

    @Override
    public MutableNetworkModel<T> train(Dataset<T> examples, Map<String, Provenance> runProvenance) {
        return train(examples, runProvenance, INCREMENT_INVOCATION_COUNT);
    }

    /**
     * Trains a network on {@code examples}.
     *
     * @param examples        the training data: every example's output known, features and outputs matching the
     *                        network's widths
     * @param runProvenance   run-specific provenance (e.g. a fold number), recorded in the model
     * @param invocationCount the invocation count to set before training, or {@link #INCREMENT_INVOCATION_COUNT}
     * @return the trained model
     * @throws IllegalArgumentException if the dataset is empty, has unknown outputs or outputs of another type, or
     *                                  its feature or output count differs from the network's (the message says
     *                                  what was expected)
     * @throws IllegalStateException    if the loss becomes infinite or NaN during training
     */
    @Override
    public MutableNetworkModel<T> train(Dataset<T> examples, Map<String, Provenance> runProvenance,
                                        int invocationCount) {
        ImmutableFeatureMap features = examples.getFeatureIDMap();
        ImmutableOutputInfo<T> outputs = examples.getOutputIDInfo();
        @SuppressWarnings("unchecked")
        OutputConverter<T> converter = (OutputConverter<T>) outputKind.converter();
        List<Example<T>> list = checkDataset(examples, outputKind, converter);
        checkWidths(spec, features, outputs, converter, features.size());

        TrainerProvenance trainerProvenance;
        SplittableRandom localRng;
        synchronized (this) {
            if (invocationCount != INCREMENT_INVOCATION_COUNT) {
                setInvocationCount(invocationCount);
            }
            localRng = rng.split();
            trainerProvenance = getProvenance();
            trainInvocationCounter++;
        }
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
        Losses.weighted(sd, "tribuo/loss", spec.loss(outputKind), sd.getVariable(mutable.outputName()),
                sd.getVariable(mutable.labelName()), weights, outputs.size());
        sd.setLossVariables("tribuo/loss");

        MinibatchEpochs.Job job = new MinibatchEpochs.Job();
        job.sd = sd;
        job.lossName = "tribuo/loss";
        job.weightsName = weights.name();
        job.data = Map.of(mutable.inputName(), x, mutable.labelName(), y);
        job.weights = exampleWeights(list);
        job.updater = iUpdater.clone();
        job.epochs = epochs;
        job.minibatchSize = minibatchSize;
        job.shuffle = shuffle;
        job.rng = localRng;
        job.loggingInterval = loggingInterval;
        job.log = log;
        job.what = "MutableNetworkTrainer";
        MinibatchEpochs.run(job);

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

    /** The examples as a list, after checking they can be trained on. */
    static <T extends Output<T>> List<Example<T>> checkDataset(Dataset<T> examples, OutputKind kind,
                                                               OutputConverter<T> converter) {
        if (examples.size() == 0) {
            throw new IllegalArgumentException(Messages.EMPTY_DATASET);
        }
        if (examples.getOutputInfo().getUnknownCount() > 0) {
            throw new IllegalArgumentException(Messages.format(Messages.UNKNOWN_OUTPUTS,
                    examples.getOutputInfo().getUnknownCount(), examples.getOutputFactory().getUnknownOutput()));
        }
        List<Example<T>> list = new ArrayList<>(examples.size());
        for (Example<T> e : examples) {
            list.add(e);
        }
        Output<?> first = list.get(0).getOutput();
        if (!kind.outputClass().isInstance(first)) {
            throw new IllegalArgumentException(Messages.format(Messages.WRONG_OUTPUT_TYPE, kind,
                    kind.outputClass().getSimpleName(), first.getClass().getSimpleName()));
        }
        return list;
    }

    /** Checks the network's input and output widths against the dataset's. */
    static <T extends Output<T>> void checkWidths(NetworkSpec spec, ImmutableFeatureMap features,
                                                  ImmutableOutputInfo<T> outputs, OutputConverter<T> converter,
                                                  long inputFeatures) {
        long in = spec.inputWidth();
        if (in != inputFeatures) {
            String detail = inputFeatures == features.size() ? "" : " that are not context features";
            throw new IllegalArgumentException(Messages.format(Messages.INPUT_WIDTH, in, inputFeatures, detail,
                    inputFeatures));
        }
        long out = spec.outputWidth();
        if (out != outputs.size()) {
            List<String> names = new ArrayList<>();
            for (int j = 0; j < outputs.size(); j++) {
                names.add(converter.columnName(j, outputs));
            }
            String what = converter.generatesProbabilities() ? "labels" : "regression dimensions";
            throw new IllegalArgumentException(Messages.format(Messages.OUTPUT_WIDTH, out, outputs.size(), what,
                    names, outputs.size()));
        }
    }

    static INDArray exampleWeights(List<? extends Example<?>> list) {
        double[] w = new double[list.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = list.get(i).getWeight();
        }
        return Nd4j.createFromArray(w);
    }

    @Override
    public int getInvocationCount() {
        return trainInvocationCounter;
    }

    /**
     * Sets the random stream to the state it has after {@code invocationCount} calls of {@code train}, as Tribuo's
     * {@code AbstractSGDTrainer} does.
     *
     * @throws IllegalArgumentException if {@code invocationCount} is negative
     */
    @Override
    public synchronized void setInvocationCount(int invocationCount) {
        if (invocationCount < 0) {
            throw new IllegalArgumentException("The invocation count must not be negative, got " + invocationCount
                    + ".");
        }
        rng = new SplittableRandom(seed);
        for (trainInvocationCounter = 0; trainInvocationCounter < invocationCount; trainInvocationCounter++) {
            rng.split();
        }
    }

    @Override
    public TrainerProvenance getProvenance() {
        return new NetworkTrainerProvenance(this, spec.hash());
    }

    @Override
    public String toString() {
        return "MutableNetworkTrainer(outputKind=" + outputKind + ",network=" + (spec.isGraph() ? "ComputationGraph"
                : "MultiLayerNetwork") + ",updater=" + iUpdater + ",epochs=" + epochs + ",minibatchSize="
                + minibatchSize + ",seed=" + seed + ",shuffle=" + shuffle + ",standardiseTargets="
                + standardiseTargets + ")";
    }
}
