package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.AMSGrad;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.AdaGrad;
import org.nd4j.linalg.learning.config.AdaMax;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nadam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/**
 * {@link MutableNetwork#fit}: on every layer parity case whose DL4J training pass equals its inference pass and whose
 * DL4J gradient is exact, a few steps of the converted network's {@code fit} leave the parameters that DL4J's own
 * {@code fit} leaves, with per-layer updaters, bias updaters, schedules, L1/L2/weight decay and gradient normalisation
 * drawn in turn from {@link #SETTINGS}; the listeners hear the same scores.
 */
class TrainingParityTest {

    private static final int STEPS = 3;
    private static final double TOLERANCE = 1e-8;

    /** Training settings, each applied to one layer's configuration; layer j of case i gets setting (i + j) mod n. */
    static final List<Consumer<BaseLayer>> SETTINGS = List.of(
            l -> settings(l, new Sgd(0.1), null, List.of(), List.of(), GradientNormalization.None, 1),
            l -> settings(l, new Adam(0.01), null, List.of(new L2Regularization(0.01)),
                    List.of(new L2Regularization(0.02)), GradientNormalization.ClipL2PerLayer, 0.5),
            l -> settings(l, new Nesterovs(0.05, 0.9), new Sgd(0.02), List.of(new L1Regularization(0.005)),
                    List.of(), GradientNormalization.RenormalizeL2PerParamType, 1),
            l -> settings(l, new RmsProp(0.01), null, List.of(new WeightDecay(0.01, true)),
                    List.of(new WeightDecay(0.003, false)), GradientNormalization.ClipElementWiseAbsoluteValue, 0.05),
            l -> settings(l, new AdaMax(new ExponentialSchedule(ScheduleType.ITERATION, 0.02, 0.8)), null,
                    List.of(new L1Regularization(0.01), new L2Regularization(0.01)), List.of(),
                    GradientNormalization.RenormalizeL2PerLayer, 1),
            l -> settings(l, new AdaGrad(0.1), new Adam(0.05), List.of(), List.of(new L1Regularization(0.01)),
                    GradientNormalization.ClipL2PerParamType, 0.2),
            l -> settings(l, new AdaDelta(), new AMSGrad(0.01), List.of(new WeightDecay(0.01, true)), List.of(),
                    GradientNormalization.None, 1),
            l -> settings(l, new Nadam(0.01), null, List.of(new L2Regularization(0.05)),
                    List.of(new WeightDecay(0.02, true)), GradientNormalization.None, 1));

    /**
     * The setting of a {@code DepthwiseConvolution2D} or {@code SeparableConvolution2D}: one updater for all its
     * parameters, no regularisation. DL4J 1.0.0-M2.1 stores their bias before their weights but lists the weights
     * first, so its updater applies per-parameter settings to the wrong elements (the converted network applies them
     * to the right ones).
     */
    private static final Consumer<BaseLayer> DEPTHWISE_SETTING = l -> settings(l, new Adam(0.01), null, List.of(),
            List.of(), GradientNormalization.ClipL2PerLayer, 0.5);

    private static void settings(BaseLayer l, org.nd4j.linalg.learning.config.IUpdater updater,
                                 org.nd4j.linalg.learning.config.IUpdater biasUpdater, List<Regularization> weights,
                                 List<Regularization> biases, GradientNormalization normalization, double threshold) {
        l.setIUpdater(updater);
        l.setBiasUpdater(biasUpdater);
        l.setRegularization(new ArrayList<>(weights));
        l.setRegularizationBias(new ArrayList<>(biases));
        l.setGradientNormalization(normalization);
        l.setGradientNormalizationThreshold(threshold);
    }

    static Stream<Case> cases() {
        // MutableNetworkTrainingTest checks that the centre loss layer is refused
        return LayerParityTest.cases().filter(c -> c.dl4jTrainsLikeItInfers() && c.dl4jGradientIsExact()
                && !c.name().startsWith("centre loss"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fitLeavesTheParametersDl4jsFitLeaves(Case c) {
        int index = LayerParityTest.cases().map(Case::name).toList().indexOf(c.name());
        Model net = c.network().apply(DataType.DOUBLE);
        configure(net, index);
        INDArray[] x = c.inputs().apply(DataType.DOUBLE);
        INDArray[] y = c.labels().apply(DataType.DOUBLE);
        MutableNetwork m = c.convert(net);
        CollectScoresListener dl4jScores = new CollectScoresListener(1);
        CollectScoresListener ourScores = new CollectScoresListener(1);
        net.setListeners(dl4jScores);
        m.setListeners(ourScores);

        MultiDataSet data = new MultiDataSet(x, y);
        // libnd4j's lstmLayer computes softplus as log(1 + exp(x)), DL4J otherwise: the same function, other roundings
        double tolerance = c.name().contains("SOFTPLUS") ? 1e-5 : TOLERANCE;
        double[] regularisationBefore = new double[STEPS];
        for (int step = 0; step < STEPS; step++) {
            regularisationBefore[step] = net instanceof MultiLayerNetwork mln ? mln.calcRegularizationScore(true)
                    : ((ComputationGraph) net).calcRegularizationScore(true);
            if (net instanceof MultiLayerNetwork mln) {
                Checks.quietly(() -> {
                    mln.fit(new DataSet(x[0], y[0]));
                    return null;
                });
            } else {
                ComputationGraph cg = (ComputationGraph) net;
                Checks.quietly(() -> {
                    cg.fit(data);
                    return null;
                });
            }
            Checks.quietly(() -> {
                m.fit(data);
                return null;
            });
            double expectedScore = dl4jScoreCorrected(net, net.score(), regularisationBefore[step], x[0].size(0));
            assertEquals(expectedScore, m.score(), tolerance * Math.max(1, Math.abs(expectedScore)),
                    c.name() + ": score of step " + step);
        }

        Map<String, INDArray> expected = net.paramTable();
        Map<String, INDArray> actual = baked(m);
        int trained = 0;
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            INDArray a = actual.get(e.getKey());
            INDArray d = e.getValue();
            if (a.length() == d.length() && !java.util.Arrays.equals(a.shape(), d.shape())) {
                a = a.reshape(d.shape());
            }
            Checks.assertRelativelyClose(d, a, tolerance, c.name() + " " + e.getKey());
            trained++;
        }
        assertTrue(trained > 0, "no parameter compared");
        assertEquals(STEPS, m.iterationCount());
        assertEquals(dl4jScores.getListIteration(), ourScores.getListIteration(), "the listener's iterations");
        for (int i = 0; i < STEPS; i++) {
            double s = dl4jScoreCorrected(net, dl4jScores.getListScore().getDouble(i), regularisationBefore[i],
                    x[0].size(0));
            assertEquals(s, ourScores.getListScore().getDouble(i), tolerance * Math.max(1, Math.abs(s)),
                    "the listener's score " + i);
        }
        double regularisation = net instanceof MultiLayerNetwork mln ? mln.calcRegularizationScore(true)
                : ((ComputationGraph) net).calcRegularizationScore(true);
        double inference = dl4jScoreCorrected(net, Networks.dl4jInferenceScore(net, x, y), regularisation,
                x[0].size(0));
        assertEquals(inference, m.score(x, y), tolerance * Math.max(1, Math.abs(inference)),
                "score(x, y) with the regularisation terms, as DL4J's score(DataSet)");
        assertFalse(c.network().apply(DataType.DOUBLE).params().equalsWithEps(net.params(), 1e-10),
                "the case trains something");
    }

    /**
     * DL4J's training score with its own bug undone: a {@code SameDiffOutputLayer} divides the regularisation term by
     * the minibatch size along with its loss ({@code (loss + reg) / N}); every other output layer adds it whole.
     */
    private static double dl4jScoreCorrected(Model net, double score, double regularisation, long examples) {
        if (!(net instanceof MultiLayerNetwork mln)
                || !(mln.getOutputLayer().conf().getLayer() instanceof SameDiffOutputLayer)) {
            return score;
        }
        return score - regularisation / examples + regularisation;
    }

    private static Map<String, INDArray> baked(MutableNetwork m) {
        return m.isComputationGraph() ? m.toComputationGraph(Map.of()).paramTable()
                : m.toMultiLayerNetwork(Map.of()).paramTable();
    }

    /** Gives each layer of {@code net} a setting from {@link #SETTINGS}, before DL4J builds its updater. */
    private static void configure(Model net, int caseIndex) {
        List<Layer> layers = new ArrayList<>();
        if (net instanceof MultiLayerNetwork mln) {
            mln.getLayerWiseConfigurations().getConfs().forEach(conf -> layers.add(conf.getLayer()));
        } else {
            ((ComputationGraph) net).getConfiguration().getVertices().values().forEach(v -> {
                if (v instanceof LayerVertex lv) {
                    layers.add(lv.getLayerConf().getLayer());
                }
            });
        }
        for (int j = 0; j < layers.size(); j++) {
            Consumer<BaseLayer> setting = SETTINGS.get((caseIndex + j) % SETTINGS.size());
            for (BaseLayer b : baseLayers(layers.get(j))) {
                (b instanceof DepthwiseConvolution2D || b instanceof SeparableConvolution2D ? DEPTHWISE_SETTING
                        : setting).accept(b);
            }
        }
    }

    private static List<BaseLayer> baseLayers(Layer layer) {
        if (layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop) {
            // DL4J 1.0.0-M2.1 applies a FrozenLayerWithBackprop's underlying regularisation to its frozen parameters
            return List.of();
        }
        if (layer instanceof BaseLayer b) {
            return List.of(b);
        }
        if (layer instanceof Bidirectional bi) {
            List<BaseLayer> both = new ArrayList<>(baseLayers(bi.getFwd()));
            both.addAll(baseLayers(bi.getBwd()));
            return both;
        }
        if (layer instanceof BaseWrapperLayer w) {
            return baseLayers(w.getUnderlying());
        }
        return List.of();
    }
}
