package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;

/** {@link GraphTrainer}: the same training as {@code sd.fit}, the real losses, no printing, clear refusals. */
class GraphTrainerTest {

    private static final int STEPS = 12;

    /** The graphs trained: a plain MLP, and the same MLP whose second layer a hypernetwork generates. */
    static Stream<Arguments> graphsAndUpdaters() {
        List<Arguments> cases = new ArrayList<>();
        for (String graph : List.of("mlp", "hypernetwork")) {
            for (Supplier<IUpdater> updater : List.<Supplier<IUpdater>>of(() -> new Sgd(0.05),
                    () -> new Adam(0.01), () -> new Nesterovs(0.02, 0.9))) {
                cases.add(Arguments.of(graph, updater));
            }
        }
        return cases.stream();
    }

    private static SameDiff graph(String kind) {
        SameDiff sd = Fixtures.mlp();
        if ("hypernetwork".equals(kind)) {
            MutableGraph g = MutableGraph.of(sd);
            Nd4j.getRandom().setSeed(5);
            SDVariable task = sd.placeHolder("task", DataType.DOUBLE, 1, 2);
            long size = g.flatSize("W2", "b2");
            SDVariable flat = task.mmul(sd.var("hyper/W", Nd4j.randn(DataType.DOUBLE, 2, size).muli(0.3)))
                    .add(sd.var("hyper/b", Nd4j.randn(DataType.DOUBLE, size)));
            g.setFromFlat(flat, "W2", "b2");
        }
        return sd;
    }

    private static Map<String, INDArray> feed(String kind, int step) {
        Nd4j.getRandom().setSeed(100 + step);
        Map<String, INDArray> feed = new HashMap<>();
        feed.put("x", Nd4j.randn(DataType.DOUBLE, 6, 3));
        feed.put("y", Nd4j.randn(DataType.DOUBLE, 6, 2));
        if ("hypernetwork".equals(kind)) {
            feed.put("task", Nd4j.randn(DataType.DOUBLE, 1, 2));
        }
        return feed;
    }

    private static Map<String, INDArray> variables(SameDiff sd) {
        Map<String, INDArray> values = new HashMap<>();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE) {
                values.put(v.name(), v.getArr().dup());
            }
        }
        return values;
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("graphsAndUpdaters")
    void stepsTrainAsSdFitDoesAndReturnTheLossBeforeEachUpdate(String kind, Supplier<IUpdater> updater) {
        SameDiff viaFit = graph(kind);
        SameDiff viaTrainer = graph(kind);
        Map<String, INDArray> before = variables(viaTrainer);
        List<String> features = "hypernetwork".equals(kind) ? List.of("x", "task") : List.of("x");
        viaFit.setTrainingConfig(TrainingConfig.builder().updater(updater.get())
                .dataSetFeatureMapping(features.toArray(new String[0])).dataSetLabelMapping("y").build());
        GraphTrainer trainer = GraphTrainer.builder(viaTrainer).loss("loss").updater(updater.get()).build();

        for (int step = 0; step < STEPS; step++) {
            Map<String, INDArray> feed = feed(kind, step);
            double expected = viaTrainer.output(new HashMap<>(feed), "loss").get("loss").getDouble(0);
            double reported = trainer.step(feed);
            assertEquals(expected, reported, 1e-12, "step " + step + " reports the loss before its update");
            INDArray[] in = features.stream().map(feed::get).toArray(INDArray[]::new);
            Fixtures.quietly(() -> viaFit.fit(new MultiDataSet(in, new INDArray[] {feed.get("y")})));
        }

        Map<String, INDArray> fitted = variables(viaFit);
        Map<String, INDArray> trained = variables(viaTrainer);
        assertEquals(fitted.keySet(), trained.keySet());
        for (String name : fitted.keySet()) {
            double difference = fitted.get(name).sub(trained.get(name)).amaxNumber().doubleValue();
            assertTrue(difference < 1e-10, name + " differs from sd.fit's by " + difference);
        }
        assertEquals(STEPS, trainer.iteration());
        // sd.fit's own result as a sanity check that something was trained at all
        for (String name : trainer.trainedVariables()) {
            assertFalse(before.get(name).equalsWithEps(trained.get(name), 1e-8), name + " was trained");
        }
    }

    @Test
    void theTrainedVariablesAreThoseTheLossDependsOnAndFollowMutations() {
        SameDiff sd = Fixtures.mlp();
        sd.var("unused", Nd4j.ones(DataType.DOUBLE, 2));
        MutableGraph g = MutableGraph.of(sd, "W1", "b1", "W2", "b2");
        GraphTrainer trainer = GraphTrainer.builder(g).updater(new Sgd(0.1)).build();
        assertEquals(List.of("W1", "W2", "b1", "b2"), trainer.trainedVariables());   // not mutated yet: themselves
        assertEquals("loss", trainer.lossName(), "the graph's one loss variable is the default");
        trainer.step(Fixtures.mlpInputs());

        // W2 is now generated from an upstream variable: W2/init stops being trained and "gain" starts.
        INDArray w2Init = sd.getVariable("W2").getArr().dup();      // becomes W2/init with the mutation below
        SDVariable gain = sd.var("gain", Nd4j.ones(DataType.DOUBLE, 1, 1));
        g.param("W2").set(sd.constant("fixed", Nd4j.ones(DataType.DOUBLE, 4, 2)).mul(gain));
        INDArray gainBefore = gain.getArr().dup();
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            trainer.step(Fixtures.mlpInputs());
        } finally {
            System.setOut(stdout);
        }
        assertEquals(List.of("W1", "b1", "b2", "gain"), trainer.trainedVariables());
        assertFalse(gain.getArr().equals(gainBefore), "the new upstream variable is trained");
        assertTrue(sd.getVariable("W2/init").getArr().equals(w2Init), "the replaced initial value is not");
        assertFalse(printed.toString(StandardCharsets.UTF_8).contains("Added differentiated op"),
                "the rebuilt gradient function printed nothing: " + printed);
    }

    @Test
    void fitRunsTheStepsReportsEachToTheListenerAndKeepsTheUpdaterStateAcrossCalls() {
        Map<String, INDArray> data = Fixtures.mlpInputs();
        SameDiff once = Fixtures.mlp();
        SameDiff twice = Fixtures.mlp();
        List<Double> heard = new ArrayList<>();
        List<Long> iterations = new ArrayList<>();
        GraphTrainer a = GraphTrainer.builder(once).updater(new Adam(0.05)).logEvery(3)
                .listener((i, loss) -> {
                    iterations.add(i);
                    heard.add(loss);
                }).build();
        GraphTrainer b = GraphTrainer.builder(twice).updater(new Adam(0.05)).build();

        double[] losses = a.fit(() -> data, 10);
        double[] first = b.fit(() -> data, 4);
        double[] rest = b.fit(() -> data, 6);

        assertEquals(10, losses.length);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), iterations);
        for (int i = 0; i < 10; i++) {
            assertEquals(losses[i], heard.get(i), 0.0);
            assertEquals(losses[i], i < 4 ? first[i] : rest[i - 4], 1e-12, "one fit of 10 = fits of 4 and 6");
        }
        assertTrue(losses[9] < losses[0] / 2, "the loss falls: " + losses[0] + " -> " + losses[9]);
        assertTrue(once.getVariable("W1").getArr().equalsWithEps(twice.getVariable("W1").getArr(), 1e-12));
    }

    @Test
    void nd4jsPerOpLinesAreDroppedUnlessAskedForAndStandardOutputIsRestored() {
        PrintStream stdout = System.out;
        ByteArrayOutputStream quiet = new ByteArrayOutputStream();
        ByteArrayOutputStream loud = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(quiet, true, StandardCharsets.UTF_8));
            PrintStream quietStream = System.out;
            GraphTrainer.builder(Fixtures.mlp()).updater(new Sgd(0.1)).build().step(Fixtures.mlpInputs());
            System.out.println("a line of the user's own");
            assertSame(quietStream, System.out, "standard output is restored");

            System.setOut(new PrintStream(loud, true, StandardCharsets.UTF_8));
            GraphTrainer.builder(Fixtures.mlp()).updater(new Sgd(0.1)).nd4jOutput(true).build()
                    .step(Fixtures.mlpInputs());
        } finally {
            System.setOut(stdout);
        }
        assertEquals("a line of the user's own" + System.lineSeparator(), quiet.toString(StandardCharsets.UTF_8));
        assertTrue(loud.toString(StandardCharsets.UTF_8).contains("Added differentiated op"),
                "ND4J prints when asked to (so the quiet run's silence is the trainer's doing)");
    }

    /** One badly configured trainer or bad feed per case, and what its message must say. */
    static Stream<Arguments> refusals() {
        Function<SameDiff, GraphTrainer.Builder> adam = sd -> GraphTrainer.builder(sd).updater(new Adam(0.01));
        Map<String, INDArray> good = Fixtures.mlpInputs();
        return Stream.of(
                Arguments.of("no updater", (Runnable) () -> GraphTrainer.builder(Fixtures.mlp()).build(),
                        List.of("No updater", "Adam")),
                Arguments.of("unknown loss", (Runnable) () -> adam.apply(Fixtures.mlp()).loss("los").build(),
                        List.of("\"los\"", "did you mean \"loss\"")),
                Arguments.of("no loss set", (Runnable) () -> adam.apply(Fixtures.linear1x1(DataType.DOUBLE)).build(),
                        List.of("0 loss variables", "loss(\"name\")")),
                Arguments.of("integer loss", (Runnable) () -> {
                    SameDiff sd = Fixtures.mlp();
                    sd.constant("count", Nd4j.scalar(3));
                    adam.apply(sd).loss("count").build();
                }, List.of("\"count\"", "INT", "floating-point")),
                Arguments.of("non-scalar variable", (Runnable) () -> adam.apply(Fixtures.mlp()).loss("W1").build(),
                        List.of("\"W1\"", "[3, 4]", "single number")),
                Arguments.of("non-scalar output", (Runnable) () -> adam.apply(Fixtures.mlp()).loss("out").build()
                        .step(good), List.of("\"out\"", "[5, 2]", "single number")),
                Arguments.of("nothing trainable", (Runnable) () -> {
                    SameDiff sd = Fixtures.mlp();
                    sd.getVariable("x").sum("inputsOnly");
                    adam.apply(sd).loss("inputsOnly").build();
                }, List.of("\"inputsOnly\"", "no trainable", "\"x\"")),
                Arguments.of("missing placeholder", (Runnable) () -> adam.apply(Fixtures.mlp()).build()
                        .step(Map.of("x", good.get("x"))), List.of("\"y\"", "\"loss\"")),
                Arguments.of("not a placeholder", (Runnable) () -> {
                    Map<String, INDArray> feed = new HashMap<>(good);
                    feed.put("W1", good.get("x"));
                    adam.apply(Fixtures.mlp()).build().step(feed);
                }, List.of("\"W1\"", "not a placeholder", "\"x\", \"y\"")),
                Arguments.of("null feed", (Runnable) () -> adam.apply(Fixtures.mlp()).build().step(null),
                        List.of("null")),
                Arguments.of("negative steps", (Runnable) () -> adam.apply(Fixtures.mlp()).build()
                        .fit(() -> good, -1), List.of("-1")),
                Arguments.of("supplier gives null", (Runnable) () -> adam.apply(Fixtures.mlp()).build()
                        .fit(() -> null, 3), List.of("step 1 of 3")),
                Arguments.of("negative log interval", (Runnable) () -> adam.apply(Fixtures.mlp()).logEvery(-5),
                        List.of("-5")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void badConfigurationsAndFeedsAreRefusedWithMessagesThatNameTheProblem(String what, Runnable call,
                                                                          List<String> mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), what + ": the message must mention " + m + ": " + e.getMessage());
        }
    }

    @Test
    void aNonFiniteLossStopsTrainingAndLeavesTheParametersAsTheyWere() {
        SameDiff sd = Fixtures.mlp();
        GraphTrainer trainer = GraphTrainer.builder(sd).updater(new Sgd(0.1)).build();
        Map<String, INDArray> feed = new HashMap<>(Fixtures.mlpInputs());
        feed.put("y", feed.get("y").dup().putScalar(0, Double.NaN));
        Map<String, INDArray> before = variables(sd);
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> trainer.step(feed));
        assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("iteration 1"), e.getMessage());
        assertEquals(before, variables(sd), "no parameter was updated");
        assertEquals(0, trainer.iteration());
    }

    /** The MLP with a second loss: the squared errors weighted by a placeholder "w" (as a mask weights them). */
    private static SameDiff twoLosses() {
        SameDiff sd = Fixtures.mlp();
        SDVariable w = sd.placeHolder("w", DataType.DOUBLE, -1, 2);
        sd.math().square(sd.getVariable("out").sub(sd.getVariable("y"))).mul(w).mean().rename("other");
        sd.setLossVariables("loss");
        return sd;
    }

    @Test
    void stepsOnAnotherLossContinueTheSameTraining() {
        SameDiff sd = twoLosses();
        SameDiff reference = twoLosses();
        GraphTrainer trainer = GraphTrainer.builder(sd).loss("loss").updater(new Adam(0.05)).build();
        GraphTrainer byGradients = GraphTrainer.builder(reference).loss("loss").updater(new Adam(0.05)).build();
        MutableGraph referenceGraph = MutableGraph.of(reference);
        for (int step = 0; step < 4; step++) {
            Map<String, INDArray> feed = feed("mlp", step);
            if (step % 2 == 1) {
                Nd4j.getRandom().setSeed(step);
                feed.put("w", Nd4j.rand(DataType.DOUBLE, 6, 2).gt(0.5).castTo(DataType.DOUBLE));
                double expected = referenceGraph.output(feed, "other").get("other").getDouble(0);
                Map<String, INDArray> gradients = referenceGraph.gradientsOf("other", feed,
                        byGradients.trainedVariables().toArray(new String[0]));
                byGradients.applyGradients(gradients);
                assertEquals(expected, trainer.step(feed, "other"), 1e-12, "the other loss's value, step " + step);
            } else {
                assertEquals(byGradients.step(feed), trainer.step(feed), 1e-12, "the trainer's loss, step " + step);
            }
        }
        assertEquals(4, trainer.iteration(), "one count for both losses");
        variables(reference).forEach((name, value) -> assertTrue(value.equalsWithEps(variables(sd).get(name), 1e-12),
                name + " after steps on both losses"));
        assertThrows(IllegalArgumentException.class, () -> trainer.step(feed("mlp", 0), "no-such-loss"));
    }
}
