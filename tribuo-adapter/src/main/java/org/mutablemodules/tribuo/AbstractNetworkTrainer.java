package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.config.Config;
import com.oracle.labs.mlrg.olcut.config.PropertyException;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.Trainer;
import org.tribuo.WeightedExamples;
import org.tribuo.provenance.TrainerProvenance;

/**
 * What the Tribuo trainers of this module share, as Tribuo's {@code AbstractSGDTrainer} holds it for its linear
 * trainers: the configuration properties of minibatch training (network, updater, epochs, minibatch size, seed,
 * shuffling, logging, target standardisation, prediction batch size), their checks, the seeded random stream with its
 * invocation count, the {@code train} overloads, and the provenance. A subclass gives its own properties and checks
 * and the training itself ({@link #trainModel}); every minibatch step goes through the core's {@code GraphTrainer}.
 *
 * @param <T> the output type: {@link org.tribuo.classification.Label} or {@link org.tribuo.regression.Regressor}
 * @param <M> the model type the trainer returns
 */
public abstract class AbstractNetworkTrainer<T extends Output<T>, M extends Model<T>>
        implements Trainer<T>, WeightedExamples {

    @Config(mandatory = true, description = "The kind of output: LABEL or REGRESSOR.")
    OutputKind outputKind;

    @Config(description = "The DL4J network configuration as JSON (a MultiLayerConfiguration, or for "
            + "MutableNetworkTrainer a ComputationGraphConfiguration too). Set this or networkPath.")
    String networkJson;

    @Config(description = "A file holding the DL4J network configuration's JSON. Set this or networkJson.")
    Path networkPath;

    @Config(description = "The ND4J updater as JSON, as DL4J writes it (e.g. {\"@class\":"
            + "\"org.nd4j.linalg.learning.config.Adam\",\"learningRate\":0.001,...}).")
    String updater = Updaters.toJson(new Adam(1e-3));

    @Config(description = "The number of passes over the training data.")
    int epochs = 50;

    @Config(description = "The number of examples per gradient step.")
    int minibatchSize = 32;

    @Config(description = "The seed of the random stream that initialises the networks and shuffles the examples.")
    long seed = Trainer.DEFAULT_SEED;

    @Config(description = "Shuffle the examples before each epoch.")
    boolean shuffle = true;

    @Config(description = "Log the mean training loss every this many epochs (-1: do not log).")
    int loggingInterval = 10;

    @Config(description = "Regression only: standardise each target dimension for training.")
    boolean standardiseTargets = true;

    @Config(description = "The number of examples per batch at prediction time.")
    int predictionBatchSize = 256;

    /** The parsed network configuration, set by {@link #postConfig()}. */
    NetworkSpec spec;
    /** The parsed updater, set by {@link #postConfig()}. */
    IUpdater iUpdater;
    private SplittableRandom rng;
    private int trainInvocationCounter;

    /** Subclasses only: the trainers of this module. */
    AbstractNetworkTrainer() {
    }

    /**
     * Checks the configuration and sets up the random stream. Called by OLCUT after it sets the properties, and by
     * the factories and builders.
     *
     * @throws PropertyException        if neither or both of networkJson and networkPath are set, the file cannot be
     *                                  read, or a subclass's property is set wrongly
     * @throws IllegalArgumentException if a property is out of range or the network does not fit the output kind
     */
    @Override
    public synchronized void postConfig() {
        if ((networkJson == null) == (networkPath == null)) {
            throw new PropertyException("", "networkJson", Messages.format(Messages.NEITHER_CONFIGURATION,
                    networkJson == null ? "neither" : "both"));
        }
        checkOwnProperties();
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
        NetworkSpec parsed = NetworkSpec.parse(json);
        checkNetwork(parsed);
        parsed.loss(outputKind);
        if (outputKind == OutputKind.REGRESSOR && standardiseTargets) {
            parsed.checkStandardisable();
        }
        this.spec = parsed;
        checkTarget(parsed);
        this.iUpdater = Updaters.fromJson(updater);
        this.rng = new SplittableRandom(seed);
    }

    /**
     * Builds a trainer of this module: the options every one of them has, each with the default of its configuration
     * property; a subclass's builder adds its own. {@link #build()} checks everything, as OLCUT's {@code postConfig}.
     *
     * @param <T> the output type
     * @param <R> the trainer type
     * @param <B> the builder type, for chaining
     */
    public abstract static class Builder<T extends Output<T>, R extends AbstractNetworkTrainer<T, ?>,
            B extends Builder<T, R, B>> {

        final R trainer;

        Builder(R trainer, OutputKind kind, String networkJson) {
            this.trainer = trainer;
            trainer.outputKind = kind;
            trainer.networkJson = networkJson;
        }

        abstract B self();

        /**
         * The ND4J updater for every parameter (default {@code Adam(1e-3)}).
         *
         * @param updater the updater
         * @return this, for chaining
         */
        public B updater(IUpdater updater) {
            trainer.updater = Updaters.toJson(Objects.requireNonNull(updater, "updater"));
            return self();
        }

        /**
         * Passes over the training data (default 50).
         *
         * @param epochs the number of epochs
         * @return this, for chaining
         */
        public B epochs(int epochs) {
            trainer.epochs = epochs;
            return self();
        }

        /**
         * Examples per gradient step (default 32).
         *
         * @param minibatchSize examples per training step
         * @return this, for chaining
         */
        public B minibatchSize(int minibatchSize) {
            trainer.minibatchSize = minibatchSize;
            return self();
        }

        /**
         * The seed of the random stream that initialises the networks and shuffles (default Tribuo's).
         *
         * @param seed the seed
         * @return this, for chaining
         */
        public B seed(long seed) {
            trainer.seed = seed;
            return self();
        }

        /**
         * Shuffle the examples before each epoch (default true).
         *
         * @param shuffle whether to shuffle the examples before each epoch
         * @return this, for chaining
         */
        public B shuffle(boolean shuffle) {
            trainer.shuffle = shuffle;
            return self();
        }

        /**
         * Log the mean training loss every this many epochs (default 10; -1: never).
         *
         * @param epochs the number of epochs
         * @return this, for chaining
         */
        public B loggingInterval(int epochs) {
            trainer.loggingInterval = epochs;
            return self();
        }

        /**
         * Regression only: standardise each target dimension for training (default true).
         *
         * @param standardise whether to standardise regression targets
         * @return this, for chaining
         */
        public B standardiseTargets(boolean standardise) {
            trainer.standardiseTargets = standardise;
            return self();
        }

        /**
         * Examples per batch at prediction time (default 256).
         *
         * @param examples examples per prediction batch
         * @return this, for chaining
         */
        public B predictionBatchSize(int examples) {
            trainer.predictionBatchSize = examples;
            return self();
        }

        /**
         * The trainer, checked.
         *
         * @return the trainer, checked
         * @throws IllegalArgumentException if a number is not positive, or the network does not fit the output kind
         *                                  or the trainer (the message names the property, layer or key at fault)
         */
        public R build() {
            try {
                trainer.postConfig();
            } catch (PropertyException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            return trainer;
        }
    }

    /** Checks the subclass's own properties, before the network is read. Nothing by default. */
    void checkOwnProperties() {
    }

    /** Checks what the subclass needs of the network's kind, before its loss is checked. Nothing by default. */
    void checkNetwork(NetworkSpec network) {
    }

    /** Checks the network further, once it is known to fit the output kind. Nothing by default. */
    void checkTarget(NetworkSpec network) {
    }

    /** Checks a dataset against this trainer's network before anything changes (the random stream included). */
    abstract void checkExamples(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter);

    /**
     * Trains on checked examples.
     *
     * @param rng        this call's random stream, split from the trainer's
     * @param provenance the trainer's provenance at this call
     */
    abstract M trainModel(Dataset<T> examples, List<Example<T>> list, OutputConverter<T> converter,
                          Map<String, Provenance> runProvenance, SplittableRandom rng, TrainerProvenance provenance);

    /** {@return the kind of output this trainer learns} */
    public OutputKind outputKind() {
        return outputKind;
    }

    @Override
    public M train(Dataset<T> examples) {
        return train(examples, Collections.emptyMap());
    }

    @Override
    public M train(Dataset<T> examples, Map<String, Provenance> runProvenance) {
        return train(examples, runProvenance, INCREMENT_INVOCATION_COUNT);
    }

    /**
     * Trains a model on {@code examples}.
     *
     * @param examples        the training data: every example's output known, features and outputs matching the
     *                        network's widths
     * @param runProvenance   run-specific provenance (e.g. a fold number), recorded in the model
     * @param invocationCount the invocation count to set before training, or {@link #INCREMENT_INVOCATION_COUNT}
     * @return the trained model
     * @throws IllegalArgumentException if the dataset is empty, has unknown outputs or outputs of another type, or
     *                                  does not fit the network (the message says what was expected); the trainer's
     *                                  invocation count is then unchanged
     * @throws ArithmeticException      if the loss becomes infinite or NaN during training
     */
    @Override
    public M train(Dataset<T> examples, Map<String, Provenance> runProvenance, int invocationCount) {
        @SuppressWarnings("unchecked")
        OutputConverter<T> converter = (OutputConverter<T>) outputKind.converter();
        List<Example<T>> list = checkDataset(examples, outputKind, converter);
        checkExamples(examples, list, converter);
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
        return trainModel(examples, list, converter, runProvenance, localRng, trainerProvenance);
    }

    /**
     * Runs this trainer's epochs of minibatches over a graph with a weighted loss, through the core's training loop.
     *
     * @param sd          the graph
     * @param lossName    its weighted loss
     * @param weightsName the placeholder of the minibatch's example weights
     * @param data        the other placeholders' values, one row per example
     * @param list        the examples, for their weights
     * @param rng         the call's random stream (shuffling)
     * @param log         where progress goes
     * @return the mean training loss of each epoch
     */
    double[] fitMinibatches(SameDiff sd, String lossName, String weightsName, Map<String, INDArray> data,
                            List<? extends Example<?>> list, SplittableRandom rng, Logger log) {
        MinibatchEpochs.Job job = new MinibatchEpochs.Job();
        job.sd = sd;
        job.lossName = lossName;
        job.weightsName = weightsName;
        job.data = data;
        job.weights = exampleWeights(list);
        job.updater = iUpdater.clone();
        job.epochs = epochs;
        job.minibatchSize = minibatchSize;
        job.shuffle = shuffle;
        job.rng = rng;
        job.loggingInterval = loggingInterval;
        job.log = log;
        job.what = getClass().getSimpleName();
        return MinibatchEpochs.run(job);
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
            throw new IllegalArgumentException(Messages.format(Messages.NEGATIVE_INVOCATION_COUNT, invocationCount));
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
}
