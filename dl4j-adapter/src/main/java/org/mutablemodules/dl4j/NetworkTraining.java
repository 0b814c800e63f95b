package org.mutablemodules.dl4j;

import static org.mutablemodules.dl4j.NetworkMessages.format;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.deeplearning4j.nn.api.OptimizationAlgorithm;
import org.deeplearning4j.nn.api.layers.LayerConstraint;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.constraint.BaseConstraint;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.mutablemodules.dl4j.internal.ConvertedNetwork;
import org.mutablemodules.samediff.GradientClipping;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What DL4J's {@code fit} would apply to a converted network, read from its configuration, and the
 * {@link GraphTrainer} that applies it: each parameter's updater (with its schedule), its L1, L2 and weight decay
 * terms, each layer's gradient normalisation, and the layers' constraints after each step. Settings the converted
 * graph cannot reproduce (dropout and weight noise, batch normalisation's training mode, truncated backpropagation
 * through time, other optimisation algorithms) are refused by name before the first step.
 */
final class NetworkTraining {

    /** One DL4J layer with parameters that DL4J trains: its description, configuration and keys. */
    private record TrainedLayer(String description, Layer layer, String keyPrefix,
                                Map<String, String> variablesByParameter) {

        /** The network key of one of its parameters. */
        String key(String parameter) {
            return keyPrefix + parameter;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(NetworkTraining.class);
    /** A fit that has run this long logs each epoch at INFO; shorter ones stay quiet (DEBUG). */
    private static final long LONG_FIT_NANOS = 10_000_000_000L;

    private final MutableGraph graph;
    private final String lossName;
    private final List<TrainedLayer> layers;
    private final List<String> refusals;
    private final Dl4jTrainingState start;
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();
    private final ListenerModel listenerModel;
    private GraphTrainer trainer;

    private NetworkTraining(MutableGraph graph, String lossName, List<TrainedLayer> layers, List<String> refusals,
                            Dl4jTrainingState start) {
        this.start = start;
        this.graph = graph;
        this.lossName = lossName;
        this.layers = layers;
        this.refusals = refusals;
        long parameters = 0;
        for (TrainedLayer l : layers) {
            for (String v : l.variablesByParameter().values()) {
                parameters += graph.isMutable(v) ? length(graph.param(v).shape())
                        : graph.sameDiff().getVariable(v).getArr().length();
            }
        }
        this.listenerModel = new ListenerModel(parameters);
    }

    private static long length(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /**
     * Reads the settings of every layer of {@code source} that has parameters in {@code converted}; training starts
     * from {@code start} (the source network's counts and updater state), or fresh if it is null.
     */
    static NetworkTraining of(SourceNetwork source, ConvertedNetwork converted, MutableGraph graph,
                              Dl4jTrainingState start) {
        List<String> refusals = new ArrayList<>();
        Map<String, Layer> byVertex = new LinkedHashMap<>();
        Map<String, String> descriptions = new LinkedHashMap<>();
        if (source instanceof SourceNetwork.LayerStack stack) {
            MultiLayerConfiguration conf = stack.configuration();
            if (conf.getBackpropType() == BackpropType.TruncatedBPTT) {
                refusals.add("the network uses truncated backpropagation through time (BackpropType.TruncatedBPTT)");
            }
            for (int i = 0; i < conf.getConfs().size(); i++) {
                NeuralNetConfiguration layerConf = conf.getConf(i);
                String description = "layer " + i + " (" + layerConf.getLayer().getClass().getSimpleName() + ")";
                checkOptimisation(layerConf, description, refusals);
                byVertex.put("layer" + i, trainingConfiguration(layerConf.getLayer()));
                descriptions.put("layer" + i, description);
            }
        } else {
            ComputationGraphConfiguration conf = ((SourceNetwork.VertexGraph) source).configuration();
            if (conf.getBackpropType() == BackpropType.TruncatedBPTT) {
                refusals.add("the network uses truncated backpropagation through time (BackpropType.TruncatedBPTT)");
            }
            for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
                if (e.getValue() instanceof LayerVertex v) {
                    String description = "layer \"" + e.getKey() + "\" ("
                            + v.getLayerConf().getLayer().getClass().getSimpleName() + ")";
                    checkOptimisation(v.getLayerConf(), description, refusals);
                    byVertex.put(e.getKey(), trainingConfiguration(v.getLayerConf().getLayer()));
                    descriptions.put(e.getKey(), description);
                }
            }
        }
        byVertex.forEach((vertex, layer) -> checkLayer(layer, descriptions.get(vertex), refusals));

        List<TrainedLayer> layers = new ArrayList<>();
        Map<String, String> prefixes = converted.keyPrefixes();
        byVertex.forEach((vertex, layer) -> {
            String prefix = prefixes.get(vertex);
            if (prefix == null) {
                return;
            }
            Map<String, String> variables = new LinkedHashMap<>();
            converted.parameterVariables().forEach((key, variable) -> {
                if (!key.startsWith(prefix) || converted.frozenKeys().contains(key)) {
                    return;
                }
                String parameter = key.substring(prefix.length());
                // DL4J's supervised fit trains (and regularises) no pretraining parameter (a VAE's decoder)
                if (!pretrain(layer, parameter)) {
                    variables.put(parameter, variable);
                }
            });
            if (!variables.isEmpty()) {
                layers.add(new TrainedLayer(descriptions.get(vertex), layer, prefix, variables));
            }
        });
        return new NetworkTraining(graph, converted.lossName(), List.copyOf(layers), List.copyOf(refusals), start);
    }

    /**
     * The configuration DL4J's updater reads for a layer's parameters: a wrapper's ({@code LastTimeStep},
     * {@code MaskZeroLayer}, {@code TimeDistributed}, {@code FrozenLayerWithBackprop}) is its innermost layer's,
     * since DL4J's runtime wrapper layers answer {@code getConfig()} with their underlying layer's.
     */
    private static Layer trainingConfiguration(Layer layer) {
        Layer l = layer;
        while (l instanceof BaseWrapperLayer w) {
            l = w.getUnderlying();
        }
        return l;
    }

    private static boolean pretrain(Layer layer, String parameter) {
        try {
            return layer.isPretrainParam(parameter);
        } catch (UnsupportedOperationException e) {
            return false;       // a user's layer that does not say has none
        }
    }

    private static void checkOptimisation(NeuralNetConfiguration conf, String description, List<String> refusals) {
        if (conf.getOptimizationAlgo() != OptimizationAlgorithm.STOCHASTIC_GRADIENT_DESCENT) {
            refusals.add(description + " is configured for " + conf.getOptimizationAlgo()
                    + " (only STOCHASTIC_GRADIENT_DESCENT is supported)");
        }
        if (!conf.isMinimize()) {
            refusals.add(description + " is configured to maximise its score (minimize(false))");
        }
    }

    private static void checkLayer(Layer layer, String description, List<String> refusals) {
        if (layer instanceof FrozenLayer) {
            return;     // DL4J runs a frozen layer at inference and trains none of it, as the graph does
        }
        if (layer instanceof Bidirectional b) {
            checkLayer(trainingConfiguration(b.getFwd()), description + "'s forward layer", refusals);
            checkLayer(trainingConfiguration(b.getBwd()), description + "'s backward layer", refusals);
        }
        if (layer.getIDropout() != null) {
            refusals.add(description + " has dropout or noise (" + layer.getIDropout() + ")");
        }
        if (layer instanceof BaseLayer b && b.getWeightNoise() != null) {
            refusals.add(description + " has weight noise (" + b.getWeightNoise() + ")");
        }
        if (layer instanceof BatchNormalization) {
            refusals.add(description + " normalises with batch statistics while DL4J trains it, and the converted "
                    + "graph computes the inference mode (running statistics)");
        }
        if (layer instanceof CenterLossOutputLayer) {
            refusals.add(description + " updates its centres by its own rule (alpha), not by their gradient");
        }
        if (layer.getConstraints() != null) {
            for (LayerConstraint c : layer.getConstraints()) {
                if (!(c instanceof BaseConstraint)) {
                    refusals.add(description + " has the constraint " + c.getClass().getName()
                            + ", which is not one of DL4J's BaseConstraints");
                }
            }
        }
    }

    /** The trainer if a fit has built it, else null. */
    GraphTrainer trainerIfBuilt() {
        return trainer;
    }

    /** The listeners each step and epoch notify. */
    List<TrainingListener> listeners() {
        return listeners;
    }

    /** The last step's score (with regularisation), NaN before the first. */
    double lastScore() {
        return listenerModel.score();
    }

    /**
     * One step of DL4J's {@code fit}: the update, then the listeners (with the iteration count before it), then
     * the constraints. Data are checked before anything changes.
     */
    synchronized void step(Map<String, INDArray> feed, String loss, INDArray firstInput, long dataMillis) {
        GraphTrainer t = trainer();
        List<Runnable> constraints = constraints();
        // the trainer's score has the regularisation of every parameter; DL4J's leaves out its SameDiff-based layers'
        double unscored = unscoredRegularization(t.iteration(), t.epoch());
        double score = (loss.equals(lossName) ? t.step(feed) : t.step(feed, loss)) - unscored;
        listenerModel.stepDone(score, firstInput, dataMillis);
        for (TrainingListener l : listeners) {
            l.iterationDone(listenerModel, (int) (t.iteration() - 1), (int) t.epoch());
        }
        constraints.forEach(Runnable::run);
    }

    /** Runs {@code epochs} passes of {@code pass}, with DL4J's epoch events and count, logging long fits. */
    synchronized void epochs(int epochs, Runnable pass) {
        GraphTrainer t = trainer();
        long start = System.nanoTime();
        for (int e = 0; e < epochs; e++) {
            long firstIteration = t.iteration();
            for (TrainingListener l : listeners) {
                l.onEpochStart(listenerModel);
            }
            pass.run();
            for (TrainingListener l : listeners) {
                l.onEpochEnd(listenerModel);
            }
            t.endEpoch();
            long elapsed = System.nanoTime() - start;
            String line = "Epoch {}/{} done: {} steps, last score {}, {} s so far";
            Object[] args = {e + 1, epochs, t.iteration() - firstIteration, lastScore(),
                    String.format(Locale.ROOT, "%.1f", elapsed / 1e9)};
            if (elapsed >= LONG_FIT_NANOS) {
                LOG.info(line, args);
            } else {
                LOG.debug(line, args);
            }
        }
    }

    /** The trainer, built at the first call; refuses first what the graph cannot train as DL4J would. */
    GraphTrainer trainer() {
        if (trainer != null) {
            return trainer;
        }
        if (!refusals.isEmpty()) {
            throw new UnsupportedOperationException(format(NetworkMessages.CANNOT_TRAIN_AS_DL4J,
                    String.join("; ", refusals)));
        }
        if (layers.isEmpty()) {
            throw new IllegalStateException(NetworkMessages.NOTHING_TO_TRAIN);
        }
        TrainedLayer first = layers.get(0);
        String firstParameter = first.variablesByParameter().keySet().iterator().next();
        GraphTrainer.Builder b = GraphTrainer.builder(graph).loss(lossName)
                .updater(updaterOf(first, firstParameter));
        if (start != null) {
            b.startingAt(start.iteration(), start.epoch());
        }
        for (TrainedLayer l : layers) {
            l.variablesByParameter().forEach((parameter, variable) -> {
                Map<String, INDArray> state = start == null ? null : start.updaterStates().get(l.key(parameter));
                if (state != null) {
                    b.updaterState(variable, state);
                }
                b.updater(variable, updaterOf(l, parameter));
                List<Regularization> terms = regularizationOf(l, parameter, true);
                if (!terms.isEmpty()) {
                    b.regularization(variable, terms.toArray(new Regularization[0]));
                }
            });
            clipping(b, l);
        }
        trainer = b.build();
        return trainer;
    }

    /** The layer's updater for a parameter; a user's layer that does not say is refused by name, as DL4J fails. */
    private static IUpdater updaterOf(TrainedLayer l, String parameter) {
        try {
            IUpdater updater = l.layer().getUpdaterByParam(parameter);
            if (updater == null) {
                throw new UnsupportedOperationException("no updater");
            }
            return updater;
        } catch (UnsupportedOperationException e) {
            throw new UnsupportedOperationException(format(NetworkMessages.CANNOT_TRAIN_AS_DL4J,
                    l.description() + " does not name the updater of its parameter \"" + parameter
                            + "\" (getUpdaterByParam: " + e.getMessage() + ")"), e);
        }
    }

    /**
     * The layer's regularisation of a parameter. A user's layer that does not say has none for a score (DL4J's
     * runtime layers score none either); training refuses it when {@code strict}.
     */
    private static List<Regularization> regularizationOf(TrainedLayer l, String parameter, boolean strict) {
        try {
            List<Regularization> terms = l.layer().getRegularizationByParam(parameter);
            return terms == null ? List.of() : terms;
        } catch (UnsupportedOperationException e) {
            if (!strict) {
                return List.of();
            }
            throw new UnsupportedOperationException(format(NetworkMessages.CANNOT_TRAIN_AS_DL4J,
                    l.description() + " does not name the regularisation of its parameter \"" + parameter
                            + "\" (getRegularizationByParam: " + e.getMessage() + ")"), e);
        }
    }

    /** DL4J's gradient normalisation of one layer, as clipping groups: the layer's parameters, or each one. */
    private static void clipping(GraphTrainer.Builder b, TrainedLayer l) {
        GradientNormalization normalization = l.layer().getGradientNormalization();
        if (normalization == null || normalization == GradientNormalization.None) {
            return;
        }
        double threshold = l.layer().getGradientNormalizationThreshold();
        String[] all = l.variablesByParameter().values().toArray(new String[0]);
        switch (normalization) {
            case RenormalizeL2PerLayer -> b.clipping(GradientClipping.renormalizeL2(), all);
            case ClipL2PerLayer -> b.clipping(GradientClipping.clipL2(threshold), all);
            case ClipElementWiseAbsoluteValue -> b.clipping(GradientClipping.clipValue(threshold), all);
            case RenormalizeL2PerParamType -> {
                for (String v : all) {
                    b.clipping(GradientClipping.renormalizeL2(), v);
                }
            }
            case ClipL2PerParamType -> {
                for (String v : all) {
                    b.clipping(GradientClipping.clipL2(threshold), v);
                }
            }
            default -> throw new UnsupportedOperationException(format(NetworkMessages.CANNOT_TRAIN_AS_DL4J,
                    l.description() + " has the gradient normalisation " + normalization));
        }
    }

    /**
     * The layers' constraints on the arrays the next step updates, to run after it as DL4J does (DL4J 1.0.0-M2.1's
     * {@code BaseConstraint.applyConstraint} applies each constraint twice; so does this, for the same result).
     * Found before the step, so a constraint that cannot hold is refused with nothing changed.
     */
    private List<Runnable> constraints() {
        List<Runnable> constraints = new ArrayList<>();
        for (TrainedLayer l : layers) {
            if (l.layer().getConstraints() == null) {
                continue;
            }
            for (LayerConstraint c : l.layer().getConstraints()) {
                for (String parameter : c.getParams()) {
                    String variable = l.variablesByParameter().get(parameter);
                    if (variable != null) {
                        INDArray array = trainedArray(l, parameter, variable, c);
                        constraints.add(() -> {
                            ((BaseConstraint) c).apply(array);
                            ((BaseConstraint) c).apply(array);
                        });
                    }
                }
            }
        }
        return constraints;
    }

    /** The array the trainer updates for a parameter: its own, or its initial value's while that feeds it. */
    private INDArray trainedArray(TrainedLayer l, String parameter, String variable, LayerConstraint c) {
        SDVariable v = graph.sameDiff().getVariable(variable);
        if (v.getVariableType() == VariableType.VARIABLE) {
            return v.getArr();
        }
        if (graph.isMutable(variable) && graph.param(variable).usesInitialValue()) {
            return graph.param(variable).initial().getArr();
        }
        throw new UnsupportedOperationException(format(NetworkMessages.CONSTRAINT_ON_MUTATED,
                c.getClass().getSimpleName(), parameter, l.description(), variable));
    }

    /**
     * The regularisation score DL4J adds to a score: every term of every parameter, on the given values, except those
     * of DL4J's SameDiff-based layers (attention, locally connected, capsules, users' {@code SameDiffLayer}s), whose
     * implementation's {@code calcRegularizationScore} is {@code AbstractLayer}'s, 0, though DL4J's updater applies
     * their regularisation in training, as {@code fit} does here.
     */
    double regularizationScore(Map<String, INDArray> values, long iteration, long epoch) {
        return regularization(false, values::get, iteration, epoch);
    }

    /**
     * The regularisation of DL4J's SameDiff-based layers on the parameters' current values, which the trainer's score
     * holds and DL4J's score leaves out ({@link #regularizationScore}); a mutated parameter is left out (the trainer
     * regularises the variables feeding it).
     */
    private double unscoredRegularization(long iteration, long epoch) {
        return regularization(true, variable -> {
            SDVariable v = graph.sameDiff().getVariable(variable);
            return v.getVariableType() == VariableType.VARIABLE ? v.getArr() : null;
        }, iteration, epoch);
    }

    /** The regularisation of the SameDiff-based layers' parameters or of the others', values by variable (or null). */
    private double regularization(boolean sameDiffLayers, Function<String, INDArray> valueOf, long iteration,
                                  long epoch) {
        double sum = 0;
        for (TrainedLayer l : layers) {
            if (l.layer() instanceof AbstractSameDiffLayer != sameDiffLayers) {
                continue;
            }
            for (Map.Entry<String, String> e : l.variablesByParameter().entrySet()) {
                INDArray value = valueOf.apply(e.getValue());
                if (value == null) {
                    continue;
                }
                for (Regularization r : regularizationOf(l, e.getKey(), false)) {
                    sum += r.score(value, (int) iteration, (int) epoch);
                }
            }
        }
        return sum;
    }

    /** The variables of the parameters that have regularisation terms, whose values a score needs. */
    List<String> regularizedVariables() {
        List<String> names = new ArrayList<>();
        for (TrainedLayer l : layers) {
            l.variablesByParameter().forEach((parameter, variable) -> {
                if (!regularizationOf(l, parameter, false).isEmpty()) {
                    names.add(variable);
                }
            });
        }
        return names;
    }
}
