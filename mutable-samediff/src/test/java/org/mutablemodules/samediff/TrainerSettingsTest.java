package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.AdaGrad;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * {@link GraphTrainer}'s per-parameter settings: updaters, regularisation (checked against {@code sd.fit} with the same
 * terms), gradient clipping, and what a mutated parameter's settings train.
 */
class TrainerSettingsTest {

    private static final List<String> PARAMETERS = List.of("W1", "b1", "W2", "b2");
    private static final int STEPS = 8;

    private static Map<String, INDArray> feed(int step) {
        Nd4j.getRandom().setSeed(300 + step);
        Map<String, INDArray> feed = new HashMap<>();
        feed.put("x", Nd4j.randn(DataType.DOUBLE, 6, 3));
        feed.put("y", Nd4j.randn(DataType.DOUBLE, 6, 2));
        return feed;
    }

    static Stream<Arguments> regularisations() {
        return Stream.of(
                Arguments.of("L2 0.3, SGD", (Supplier<IUpdater>) () -> new Sgd(0.05),
                        (Supplier<List<Regularization>>) () -> List.of(new L2Regularization(0.3))),
                Arguments.of("L1 0.2, Adam", (Supplier<IUpdater>) () -> new Adam(0.02),
                        (Supplier<List<Regularization>>) () -> List.of(new L1Regularization(0.2))),
                Arguments.of("weight decay 0.4 with the learning rate, Nesterovs",
                        (Supplier<IUpdater>) () -> new Nesterovs(0.03, 0.9),
                        (Supplier<List<Regularization>>) () -> List.of(new WeightDecay(0.4, true))),
                Arguments.of("weight decay 0.01 without it, L1 and L2, AdaGrad",
                        (Supplier<IUpdater>) () -> new AdaGrad(0.1),
                        (Supplier<List<Regularization>>) () -> List.of(new L1Regularization(0.05),
                                new L2Regularization(0.1), new WeightDecay(0.01, false))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("regularisations")
    void regularisationTrainsAsSdFitDoesAndItsScoreIsPartOfTheLoss(String name, Supplier<IUpdater> updater,
                                                                    Supplier<List<Regularization>> terms) {
        SameDiff viaFit = Fixtures.mlp();
        SameDiff viaTrainer = Fixtures.mlp();
        viaFit.setTrainingConfig(TrainingConfig.builder().updater(updater.get()).regularization(terms.get())
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        GraphTrainer.Builder builder = GraphTrainer.builder(viaTrainer).loss("loss").updater(updater.get());
        PARAMETERS.forEach(p -> builder.regularization(p, terms.get().toArray(new Regularization[0])));
        GraphTrainer trainer = builder.build();

        for (int step = 0; step < STEPS; step++) {
            Map<String, INDArray> feed = feed(step);
            double expected = viaTrainer.output(new HashMap<>(feed), "loss").get("loss").getDouble(0)
                    + penalty(viaTrainer, terms.get());
            assertEquals(expected, trainer.step(feed), 1e-12, "step " + step + ": the loss plus the penalty");
            Fixtures.quietly(() -> viaFit.fit(new MultiDataSet(new INDArray[] {feed.get("x")},
                    new INDArray[] {feed.get("y")})));
        }
        for (String p : PARAMETERS) {
            INDArray fitted = viaFit.getVariable(p).getArr();
            INDArray trained = viaTrainer.getVariable(p).getArr();
            double difference = fitted.sub(trained).amaxNumber().doubleValue();
            assertTrue(difference < 1e-12, p + " differs from sd.fit's by " + difference);
        }
        SameDiff unregularised = Fixtures.mlp();
        GraphTrainer plain = GraphTrainer.builder(unregularised).loss("loss").updater(updater.get()).build();
        for (int step = 0; step < STEPS; step++) {
            plain.step(feed(step));
        }
        assertFalse(unregularised.getVariable("W1").getArr().equalsWithEps(viaTrainer.getVariable("W1").getArr(),
                1e-6), "the regularisation changed the training");
    }

    /** The penalty, written out from the definitions: l1 sum|w|, l2/2 sum w^2, decay/2 sum w^2. */
    private static double penalty(SameDiff sd, List<Regularization> terms) {
        double sum = 0;
        for (String p : PARAMETERS) {
            INDArray w = sd.getVariable(p).getArr();
            for (Regularization r : terms) {
                double coefficient = r instanceof L1Regularization l1 ? l1.getL1().valueAt(0, 0)
                        : r instanceof L2Regularization l2 ? l2.getL2().valueAt(0, 0)
                        : ((WeightDecay) r).getCoeff().valueAt(0, 0);
                sum += r instanceof L1Regularization ? coefficient * Transformed.absSum(w)
                        : coefficient * 0.5 * Transformed.squareSum(w);
            }
        }
        return sum;
    }

    /** Small sums over arrays, computed element by element. */
    private static final class Transformed {
        static double absSum(INDArray a) {
            double s = 0;
            for (double v : a.data().asDouble()) {
                s += Math.abs(v);
            }
            return s;
        }

        static double squareSum(INDArray a) {
            double s = 0;
            for (double v : a.data().asDouble()) {
                s += v * v;
            }
            return s;
        }
    }

    @Test
    void eachParameterUsesItsOwnUpdaterAndTheRestTheDefault() {
        SameDiff sd = Fixtures.mlp();
        SameDiff reference = Fixtures.mlp();
        Map<String, IUpdater> configs = Map.of("W1", new Adam(0.01), "b1", new Nesterovs(0.02, 0.8),
                "W2", new Sgd(0.05), "b2", new Sgd(0.3));
        GraphTrainer trainer = GraphTrainer.builder(sd).loss("loss").updater(new Sgd(0.3))
                .updater("W1", new Adam(0.01)).updater("b1", new Nesterovs(0.02, 0.8))
                .updater("W2", new Sgd(0.05)).build();
        // The reference: ND4J's own updaters, one per parameter, on the gradients SameDiff computes.
        Map<String, GradientUpdater<?>> updaters = new HashMap<>();
        for (String p : PARAMETERS) {
            INDArray param = reference.getVariable(p).getArr();
            long size = configs.get(p).stateSize(param.length());
            INDArray view = size == 0 ? null : Nd4j.zeros(DataType.DOUBLE, 1, size);
            GradientUpdater<?> u = configs.get(p).instantiate(view, true);
            if (view != null) {
                u.setStateViewArray(view, param.shape(), param.ordering(), true);
            }
            updaters.put(p, u);
        }
        for (int step = 0; step < STEPS; step++) {
            Map<String, INDArray> feed = feed(step);
            Map<String, INDArray> gradients = Fixtures.quietly(() ->
                    reference.calculateGradients(new HashMap<>(feed), PARAMETERS.toArray(new String[0])));
            for (String p : PARAMETERS) {
                INDArray update = gradients.get(p).dup();
                updaters.get(p).applyUpdater(update, step, 0);
                reference.getVariable(p).getArr().subi(update);
            }
            trainer.step(feed);
        }
        for (String p : PARAMETERS) {
            double difference = reference.getVariable(p).getArr().sub(sd.getVariable(p).getArr())
                    .amaxNumber().doubleValue();
            assertTrue(difference < 1e-12, p + " differs from its own updater's result by " + difference);
        }
    }

    static Stream<Arguments> clippings() {
        return Stream.of(Arguments.of(GradientClipping.clipL2(0.05)), Arguments.of(GradientClipping.clipL2(1e6)),
                Arguments.of(GradientClipping.renormalizeL2()), Arguments.of(GradientClipping.clipValue(0.02)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("clippings")
    void clippingLimitsTheGroupsGradientsTogetherBeforeTheUpdater(GradientClipping rule) {
        SameDiff sd = Fixtures.mlp();
        Map<String, INDArray> feed = feed(0);
        Map<String, INDArray> raw = Fixtures.quietly(() ->
                sd.calculateGradients(new HashMap<>(feed), PARAMETERS.toArray(new String[0])));
        Map<String, INDArray> before = new HashMap<>();
        PARAMETERS.forEach(p -> before.put(p, sd.getVariable(p).getArr().dup()));
        GraphTrainer.builder(sd).loss("loss").updater(new Sgd(1.0)).clipping(rule, "W1", "b1").build().step(feed);

        Map<String, INDArray> applied = new HashMap<>();
        PARAMETERS.forEach(p -> applied.put(p, before.get(p).sub(sd.getVariable(p).getArr())));
        double rawNorm = Math.sqrt(Transformed.squareSum(raw.get("W1")) + Transformed.squareSum(raw.get("b1")));
        double expectedFactor = switch (rule.toString()) {
            case "clipL2(0.05)" -> Math.min(1, 0.05 / rawNorm);
            case "renormalizeL2()" -> 1 / rawNorm;
            default -> 1;
        };
        for (String p : List.of("W1", "b1")) {
            INDArray expected = raw.get(p).mul(expectedFactor);
            if (rule.toString().startsWith("clipValue")) {
                expected = raw.get(p).dup();
                for (int i = 0; i < expected.length(); i++) {
                    expected.putScalar(i, Math.max(-0.02, Math.min(0.02, expected.getDouble(i))));
                }
            }
            assertTrue(expected.equalsWithEps(applied.get(p), 1e-12), p + ": " + applied.get(p) + " vs " + expected);
        }
        if (rule.toString().startsWith("clipValue")) {
            assertTrue(raw.get("W1").amaxNumber().doubleValue() > 0.02, "the case clips something");
        } else if (rule.toString().startsWith("clipL2(0.05)")) {
            assertTrue(rawNorm > 0.05, "the case clips something");
        }
        for (String p : List.of("W2", "b2")) {
            assertTrue(raw.get(p).equalsWithEps(applied.get(p), 1e-12), p + " is outside the group: not clipped");
        }
    }

    @Test
    void theVariablesFeedingAMutatedParameterTrainWithItsSettings() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph graph = MutableGraph.of(sd);
        Nd4j.getRandom().setSeed(9);
        SDVariable hyper = sd.var("hyper", Nd4j.randn(DataType.DOUBLE, 4, 2));
        graph.param("W2").set(hyper.mul(2));
        INDArray hyperBefore = hyper.getArr().dup();
        INDArray w1Before = sd.getVariable("W1").getArr().dup();

        GraphTrainer frozenHyper = GraphTrainer.builder(graph).loss("loss").updater(new Sgd(0.1))
                .updater("W2", new Sgd(0.0)).build();
        frozenHyper.step(feed(0));
        assertTrue(frozenHyper.trainedVariables().contains("hyper"));
        assertEquals(hyperBefore, hyper.getArr(), "hyper trains with W2's updater, SGD at rate 0");
        assertFalse(w1Before.equalsWithEps(sd.getVariable("W1").getArr(), 1e-9), "W1 trains with the default");

        INDArray w1Now = sd.getVariable("W1").getArr().dup();
        GraphTrainer onlyHyper = GraphTrainer.builder(graph).loss("loss").updater(new Sgd(0.0))
                .updater("W2", new Sgd(0.1)).regularization("W2", new L2Regularization(0.5)).build();
        Map<String, INDArray> feed = feed(1);
        INDArray gradient = graph.gradients(feed, "hyper").get("hyper");
        double data = graph.output(feed, "loss").get("loss").getDouble(0);
        double reported = onlyHyper.step(feed);
        assertEquals(w1Now, sd.getVariable("W1").getArr(), "W1 keeps the default updater, SGD at rate 0");
        INDArray expected = hyperBefore.sub(gradient.add(hyperBefore.mul(0.5)).mul(0.1));
        assertTrue(expected.equalsWithEps(hyper.getArr(), 1e-12), "hyper: SGD on its gradient plus W2's L2 term");
        assertEquals(data + 0.25 * Transformed.squareSum(hyperBefore), reported, 1e-12,
                "the L2 score is that of the variable trained");
    }

    @Test
    void aVariableTheLossDoesNotReachIsStillRegularisedAsDl4jDoes() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable w = sd.var("w", Nd4j.createFromArray(0.5, -1.0, 2.0).reshape(3, 1));
        SDVariable v = sd.var("v", Nd4j.createFromArray(1.0, 1.0, 1.0).reshape(3, 1));
        // w reaches the loss only through a stopped gradient: no gradient, but its L2 term still applies
        x.mmul(new StopGradient(sd, w).outputVariable().add(v)).sum().rename("loss");
        INDArray before = w.getArr().dup();
        GraphTrainer trainer = GraphTrainer.builder(sd).loss("loss").updater(new Sgd(0.1))
                .regularization("w", new L2Regularization(0.5)).build();
        trainer.step(Map.of("x", Nd4j.ones(DataType.DOUBLE, 2, 3)));
        assertTrue(before.mul(1 - 0.1 * 0.5).equalsWithEps(w.getArr(), 1e-15), "w decays: " + w.getArr());

        SameDiff plain = SameDiff.create();
        SDVariable px = plain.placeHolder("x", DataType.DOUBLE, -1, 3);
        SDVariable pw = plain.var("w", before.dup());
        SDVariable pv = plain.var("v", Nd4j.ones(DataType.DOUBLE, 3, 1));
        px.mmul(new StopGradient(plain, pw).outputVariable().add(pv)).sum().rename("loss");
        GraphTrainer.builder(plain).loss("loss").updater(new Sgd(0.1)).build()
                .step(Map.of("x", Nd4j.ones(DataType.DOUBLE, 2, 3)));
        assertEquals(before, pw.getArr(), "without regularisation, as sd.fit: not updated");
    }

    @Test
    void aTrainerStartedFromAnothersCountsAndStatesGoesOnAsItWould() {
        SameDiff first = Fixtures.mlp();
        GraphTrainer a = GraphTrainer.builder(first).loss("loss").updater(new Adam(0.02)).build();
        for (int step = 0; step < 3; step++) {
            a.step(feed(step));
        }
        SameDiff second = Fixtures.mlp();
        PARAMETERS.forEach(p -> second.getVariable(p).getArr().assign(first.getVariable(p).getArr()));
        GraphTrainer.Builder builder = GraphTrainer.builder(second).loss("loss").updater(new Adam(0.02))
                .startingAt(3, 0);
        for (String p : PARAMETERS) {
            Map<String, INDArray> state = a.updaterState(p);
            assertEquals(List.of("M", "V"), List.copyOf(state.keySet()), p);
            assertTrue(state.get("M").sumNumber().doubleValue() != 0, "moments after three steps");
            builder.updaterState(p, state);
        }
        GraphTrainer b = builder.build();
        assertEquals(3, b.iteration());
        a.step(feed(3));
        b.step(feed(3));
        for (String p : PARAMETERS) {
            assertEquals(first.getVariable(p).getArr(), second.getVariable(p).getArr(), p + " as if never split");
        }
        assertTrue(GraphTrainer.builder(Fixtures.mlp()).updater(new Sgd(0.1)).build().updaterState("W1").isEmpty(),
                "no state before a step");

        Map<String, INDArray> wrong = Map.of("M", Nd4j.zeros(DataType.DOUBLE, 2, 2), "V", Nd4j.zeros(DataType.DOUBLE, 2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GraphTrainer
                .builder(Fixtures.mlp()).updater(new Adam(0.02)).updaterState("W1", wrong).build());
        assertTrue(e.getMessage().contains("\"W1\"") && e.getMessage().contains("[3, 4]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GraphTrainer.builder(Fixtures.mlp())
                .updater(new Adam(0.02)).startingAt(-1, 0));
    }

    @Test
    void gradientsComputedElsewhereApplyAsAStepAndValuesCanBeSetInPlace() {
        SameDiff stepped = Fixtures.mlp();
        SameDiff applied = Fixtures.mlp();
        GraphTrainer a = GraphTrainer.builder(stepped).loss("loss").updater(new Adam(0.02))
                .regularization("W1", new L2Regularization(0.1)).build();
        GraphTrainer b = GraphTrainer.builder(applied).loss("loss").updater(new Adam(0.02))
                .regularization("W1", new L2Regularization(0.1)).build();
        MutableGraph graph = MutableGraph.of(applied);
        for (int step = 0; step < 3; step++) {
            Map<String, INDArray> feed = feed(step);
            double reported = a.step(feed);
            double loss = graph.output(feed, "loss").get("loss").getDouble(0);
            Map<String, INDArray> gradients = graph.gradients(feed, PARAMETERS.toArray(new String[0]));
            double penalty = b.applyGradients(gradients);
            assertEquals(reported, loss + penalty, 1e-12, "step " + step + ": the loss and the penalty");
        }
        assertEquals(a.iteration(), b.iteration());
        for (String p : PARAMETERS) {
            assertEquals(stepped.getVariable(p).getArr(), applied.getVariable(p).getArr(), p);
        }

        INDArray before = applied.getVariable("W1").getArr().dup();
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> b.applyGradients(Map.of("W1", Nd4j.ones(DataType.DOUBLE, 3, 4), "x", Nd4j.ones(DataType.DOUBLE, 1))));
        assertTrue(unknown.getMessage().contains("\"x\""), unknown.getMessage());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> b.applyGradients(Map.of("W1", Nd4j.ones(DataType.DOUBLE, 4, 3))));
        assertTrue(shape.getMessage().contains("[3, 4]"), shape.getMessage());
        assertEquals(before, applied.getVariable("W1").getArr(), "nothing updated by refused gradients");

        INDArray w1 = applied.getVariable("W1").getArr();
        graph.setValues(Map.of("W1", Nd4j.ones(DataType.DOUBLE, 3, 4), "b1", Nd4j.zeros(DataType.DOUBLE, 4)));
        assertTrue(w1 == applied.getVariable("W1").getArr(), "set in place: the same array");
        assertEquals(Nd4j.ones(DataType.DOUBLE, 3, 4), w1);
        IllegalArgumentException placeholder = assertThrows(IllegalArgumentException.class,
                () -> graph.setValues(Map.of("b1", Nd4j.ones(DataType.DOUBLE, 4), "x", Nd4j.ones(DataType.DOUBLE, 2, 3))));
        assertTrue(placeholder.getMessage().contains("\"x\"") && placeholder.getMessage().contains("PLACEHOLDER"),
                placeholder.getMessage());
        assertEquals(Nd4j.zeros(DataType.DOUBLE, 4), applied.getVariable("b1").getArr(), "nothing set: checked first");
        assertThrows(IllegalArgumentException.class,
                () -> graph.setValues(Map.of("W1", Nd4j.ones(DataType.FLOAT, 3, 4))));
    }

    @Test
    void settingsForUnknownNamesAndBadThresholdsAreRefused() {
        SameDiff sd = Fixtures.mlp();
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> GraphTrainer
                .builder(sd).updater(new Sgd(0.1)).updater("W3", new Adam(0.1)).build());
        assertTrue(unknown.getMessage().contains("\"W3\"") && unknown.getMessage().contains("W1"),
                unknown.getMessage());
        IllegalArgumentException clipped = assertThrows(IllegalArgumentException.class, () -> GraphTrainer
                .builder(sd).updater(new Sgd(0.1)).clipping(GradientClipping.clipValue(1), "b9").build());
        assertTrue(clipped.getMessage().contains("\"b9\""), clipped.getMessage());
        IllegalArgumentException threshold = assertThrows(IllegalArgumentException.class,
                () -> GradientClipping.clipL2(0));
        assertTrue(threshold.getMessage().contains("positive"), threshold.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipValue(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> GraphTrainer.builder(sd).updater(new Sgd(0.1))
                .clipping(GradientClipping.renormalizeL2()));
    }
}
