package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mutablemodules.samediff.internal.ExecutionPlan;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Computations through execution plans ({@link ExecutionPlans}, {@link ExecutionPlan}): equal to SameDiff's session
 * to the byte, across batch sizes, arrays changed or replaced, every mutation, value-dependent shapes, concurrent
 * callers and random ops; results never overwritten; buffers reused once dead; control flow left to the session.
 */
class ExecutionPlansTest {

    /** {@code out = sum(tanh(...tanh(x W)... W), 1)} with {@code depth} layers; {@code loss = mean(out^2)}. */
    private static SameDiff chain(int depth) {
        Nd4j.getRandom().setSeed(11);
        SameDiff sd = SameDiff.create();
        SDVariable h = sd.placeHolder("x", DataType.DOUBLE, -1, 8);
        SDVariable w = sd.var("W", Nd4j.randn(DataType.DOUBLE, 8, 8).muli(0.4));
        for (int i = 0; i < depth; i++) {
            h = sd.math().tanh(h.mmul(w));
        }
        SDVariable out = h.sum("out", 1);
        out.mul(out).mean("loss");
        sd.setLossVariables("loss");
        return sd;
    }

    private static INDArray input(long rows, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, rows, 8);
    }

    private static List<ExecutionPlan> plans(MutableGraph g) {
        return g.state().plans().idlePlans();
    }

    private static ExecutionPlan planOf(MutableGraph g, String... outputs) {
        return plans(g).stream().filter(p -> p.outputs().equals(List.of(outputs))).findFirst().orElseThrow();
    }

    private static void assertSameBytes(INDArray session, INDArray plan) {
        assertDoesNotThrow(() -> ExecutionPlans.requireSame("result", session, plan, true));
    }

    @Test
    void outputsGradientsAndTrainingRunThroughPlansEqualToTheSession() {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> feed = Fixtures.mlpInputs();
        Map<String, INDArray> planned = g.output(feed, "out", "loss");
        Map<String, INDArray> session = sd.output(new HashMap<>(feed), "out", "loss");
        assertSameBytes(session.get("out"), planned.get("out"));
        assertSameBytes(session.get("loss"), planned.get("loss"));
        String[] inits = {g.param("W1").initial().name(), g.param("b2").initial().name()};
        Map<String, INDArray> gradients = g.gradients(feed, inits);
        Map<String, INDArray> sessionGradients = Fixtures.gradients(sd, feed, inits);
        for (String v : inits) {
            assertSameBytes(sessionGradients.get(v), gradients.get(v));
        }
        // Building the gradient function adds variables to the graph, which drops the plans compiled before.
        assertSameBytes(session.get("out"), g.output(feed, "out", "loss").get("out"));
        assertEquals(2, plans(g).size(), "one plan for the outputs, one for the gradients");
        assertTrue(g.state().plans().refusals().isEmpty());

        GraphTrainer trainer = GraphTrainer.builder(g).updater(new org.nd4j.linalg.learning.config.Sgd(0.1)).build();
        trainer.step(feed);
        assertEquals(3, plans(g).size(), "the trainer's step has a plan of its own");
    }

    @Test
    void alternatingBatchSizesAllocateOncePerSize() {
        SameDiff sd = chain(3);
        MutableGraph g = MutableGraph.of(sd);
        long[] sizes = {3, 5, 3, 5, 3, 5, 7, 3};
        for (long n : sizes) {
            Map<String, INDArray> feed = Map.of("x", input(n, n));
            INDArray planned = g.output(feed, "out").get("out");
            assertArrayEquals(new long[] {n}, planned.shape());
            assertSameBytes(sd.output(new HashMap<>(feed), "out").get("out"), planned);
        }
        assertEquals(3, planOf(g, "out").allocatingCalls(), "sizes 3, 5 and 7 allocate once each");
    }

    @Test
    void resultsAreNeverOverwrittenByLaterCalls() {
        SameDiff sd = chain(2);
        sd.math().tanh("passed", sd.getVariable("x"));
        MutableGraph g = MutableGraph.of(sd);
        INDArray x1 = input(4, 1);
        Map<String, INDArray> first = g.output(Map.of("x", x1), "out", "x", "loss");
        Map<String, INDArray> copies = new HashMap<>();
        first.forEach((k, v) -> copies.put(k, v.dup()));
        Map<String, INDArray> second = g.output(Map.of("x", input(4, 2)), "out", "x", "loss");
        first.forEach((k, v) -> {
            assertEquals(copies.get(k), v, k + " was overwritten by the second call");
            assertNotSame(v, second.get(k));
        });
        assertNotSame(x1, first.get("x"), "a fed array comes back as a copy");
        assertEquals(x1, first.get("x"));
    }

    @Test
    void storedArraysChangedInPlaceOrReplacedAreSeen() {
        SameDiff sd = Fixtures.linear1x1(DataType.DOUBLE);
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> feed = Map.of("x", Nd4j.createFromArray(new double[][] {{2}, {3}}));
        assertEquals(1.25, g.output(feed, "out").get("out").getDouble(0), 0);
        String w = g.param("W").initial().name();
        sd.getArrForVarName(w).addi(1);             // W = 1.5, changed in place
        assertEquals(3.25, g.output(feed, "out").get("out").getDouble(0), 0);
        sd.associateArrayWithVariable(Nd4j.createFromArray(new double[][] {{-1}}), sd.getVariable(w));
        INDArray out = g.output(feed, "out").get("out");
        assertEquals(-1.75, out.getDouble(0), 0);
        assertEquals(-2.75, out.getDouble(1), 0);
    }

    /**
     * Each kind of mutation changes the graph's structure: the plans compiled before it are dropped, and outputs
     * and gradients afterwards equal the session's. The gradients through plans are also checked against central
     * differences of the loss through plans.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.mutablemodules.samediff.GradientCheckTest#mutations")
    void everyMutationIsSeenAndGradientsMatchFiniteDifferences(String description, Consumer<MutableGraph> mutation) {
        SameDiff sd = Fixtures.mlp();
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> feed = Fixtures.mlpInputs();
        double before = g.output(feed, "loss").get("loss").getDouble(0);
        mutation.accept(g);
        double after = g.output(feed, "loss").get("loss").getDouble(0);
        assertSameBytes(sd.output(new HashMap<>(feed), "loss").get("loss"), Nd4j.scalar(after));
        if (!description.equals("no mutation")) {
            assertNotEquals(before, after, "the output after the mutation is the old graph's");
        }
        List<String> trainable = new ArrayList<>();
        sd.variables().stream().filter(v -> v.getVariableType() == VariableType.VARIABLE)
                .forEach(v -> trainable.add(v.name()));
        Map<String, INDArray> gradients = g.gradients(feed, trainable.toArray(new String[0]));
        Map<String, INDArray> session = Fixtures.gradients(sd, feed, gradients.keySet().toArray(new String[0]));
        assertFalse(gradients.isEmpty());
        gradients.forEach((v, gradient) -> {
            assertSameBytes(session.get(v), gradient);
            INDArray value = sd.getArrForVarName(v);
            for (long i = 0; i < value.length(); i++) {
                double x = value.getDouble(i);
                double eps = 1e-6;
                value.putScalar(i, x + eps);
                double up = g.output(feed, "loss").get("loss").getDouble(0);
                value.putScalar(i, x - eps);
                double down = g.output(feed, "loss").get("loss").getDouble(0);
                value.putScalar(i, x);
                double numeric = (up - down) / (2 * eps);
                double analytic = gradient.getDouble(i);
                assertEquals(numeric, analytic, 1e-7 + 1e-5 * Math.abs(numeric), v + "[" + i + "]");
            }
        });
    }

    @Test
    void controlFlowRunsThroughTheSessionAndSaysWhy() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 2);
        SDVariable w = sd.var("W", Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}));
        SDVariable y = x.mmul(w);
        sd.ifCond("out", null, s -> y.sum().gt(0), s -> y.mul(2), s -> y.mul(-3));
        MutableGraph g = MutableGraph.of(sd);
        INDArray positive = g.output(Map.of("x", Nd4j.createFromArray(new double[][] {{1, 1}})), "out").get("out");
        assertEquals(Nd4j.createFromArray(new double[][] {{8, 12}}), positive);
        INDArray negative = g.output(Map.of("x", Nd4j.createFromArray(new double[][] {{-1, 0}})), "out").get("out");
        assertEquals(Nd4j.createFromArray(new double[][] {{3, 6}}), negative);
        String why = g.state().plans().refusals().get(List.of("out"));
        assertTrue(why != null && why.contains("Switch") && why.contains("Merge"), String.valueOf(why));
    }

    /** StopGradient (first-order MAML, DL4J's clipped cross-entropy) is an ordinary op: planned, not refused. */
    @Test
    void stopGradientIsPlanned() {
        SameDiff sd = chain(2);
        SDVariable stopped = new StopGradient(sd, sd.getVariable("out")).outputVariable();
        sd.getVariable("loss").add("total", stopped.mul(stopped).mean());
        sd.setLossVariables("total");
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> feed = Map.of("x", input(3, 4));
        String init = g.param("W").initial().name();
        INDArray gradient = g.gradients(feed, init).get(init);
        assertSameBytes(Fixtures.gradients(sd, feed, init).get(init), gradient);
        assertSameBytes(sd.output(new HashMap<>(feed), "total").get("total"), g.output(feed, "total").get("total"));
        assertTrue(g.state().plans().refusals().isEmpty(), g.state().plans().refusals().toString());
        assertEquals(2, plans(g).size());
    }

    @Test
    void shapesComputedFromValuesFollowEachCall() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, 12);
        SDVariable shape = sd.placeHolder("shape", DataType.INT64, 2);
        SDVariable w = sd.var("w", Nd4j.arange(1, 13).castTo(DataType.DOUBLE));
        sd.reshape(x.mul(w), shape).mul("out", 2);
        MutableGraph g = MutableGraph.of(sd);
        INDArray in = Nd4j.arange(0, 12).castTo(DataType.DOUBLE);
        for (long[] s : new long[][] {{3, 4}, {4, 3}, {2, 6}, {3, 4}}) {
            Map<String, INDArray> feed = Map.of("x", in, "shape", Nd4j.createFromArray(s));
            INDArray out = g.output(feed, "out").get("out");
            assertArrayEquals(s, out.shape());
            assertSameBytes(sd.output(new HashMap<>(feed), "out").get("out"), out);
        }
    }

    @Test
    void concurrentCallersGetTheirOwnResults() throws InterruptedException {
        SameDiff sd = chain(4);
        MutableGraph g = MutableGraph.of(sd);
        int threads = 4;
        List<Map<String, INDArray>> feeds = new ArrayList<>();
        List<INDArray> expected = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Map<String, INDArray> feed = Map.of("x", input(2 + t, 100 + t));
            feeds.add(feed);
            expected.add(sd.output(new HashMap<>(feed), "out").get("out"));
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int k = t;
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    try {
                        INDArray out = g.output(feeds.get(k), "out").get("out");
                        ExecutionPlans.requireSame("out", expected.get(k), out, true);
                    } catch (RuntimeException e) {
                        failures.add("thread " + k + ", call " + i + ": " + e);
                    }
                }
            });
            running.add(thread);
            thread.start();
        }
        for (Thread thread : running) {
            thread.join();
        }
        assertTrue(failures.isEmpty(), String.valueOf(failures));
    }

    @Test
    void dropoutIsSeededAndRightInDistribution() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 100);
        SDVariable w = sd.var("w", Nd4j.ones(DataType.DOUBLE, 1, 100));
        sd.nn().dropout("out", x.mul(w), 0.3);          // keeps each value with probability 0.3
        MutableGraph g = MutableGraph.of(sd);
        Map<String, INDArray> feed = Map.of("x", Nd4j.ones(DataType.DOUBLE, 200, 100));
        Nd4j.getRandom().setSeed(12);
        INDArray first = g.output(feed, "out").get("out");
        Nd4j.getRandom().setSeed(12);
        INDArray again = g.output(feed, "out").get("out");
        INDArray next = g.output(feed, "out").get("out");
        assertEquals(first, again, "the same seed draws the same mask");
        assertNotEquals(first, next, "the next call draws a new mask");
        double kept = first.neq(0).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        // 20,000 draws: the standard deviation of the kept fraction is 0.0032.
        assertEquals(0.3, kept, 0.015);
        double[] values = first.data().asDouble();
        double scaled = java.util.Arrays.stream(values).filter(v -> v != 0).max().orElseThrow();
        assertTrue(java.util.Arrays.stream(values).allMatch(v -> v == 0 || v == scaled),
                "every kept value is scaled alike");
        assertEquals(1.0, scaled, 0, "ND4J's DropOut keeps values unscaled (DropOutInverted scales them)");
    }

    @Test
    void buffersAreReusedOnceNoOpReadsThem() {
        int depth = 20;
        SameDiff sd = chain(depth);
        MutableGraph g = MutableGraph.of(sd);
        g.output(Map.of("x", input(64, 3)), "out");
        long oneActivation = 64 * 8 * 8;
        long held = planOf(g, "out").bufferBytes();
        // Holding every intermediate would take 2 * depth activations (a product and a tanh per layer).
        assertTrue(held <= 2 * oneActivation, "the plan holds " + held + " bytes");
        assertTrue(held > 0);
    }

    @Test
    void reshapesOfThePlansBuffersAreViewsThatLiveAsLongAsTheirReaders() {
        Nd4j.getRandom().setSeed(5);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 8);
        SDVariable w = sd.var("W", Nd4j.randn(DataType.DOUBLE, 8, 8).muli(0.4));
        SDVariable first = sd.math().tanh(x.mmul(w));
        // views: a reshape, expand_dims and squeeze of a computed array; not a reshape of the placeholder itself
        SDVariable viewed = sd.squeeze(sd.expandDims(sd.reshape(first, -1, 2, 4), 1), 1);
        SDVariable copied = sd.reshape(x, -1, 2, 4);
        // later layers of the same shape as the viewed array, which the plan would give its buffer once no op read
        // it any more, were the view's readers not counted
        SDVariable h = first;
        for (int i = 0; i < 4; i++) {
            h = sd.math().tanh(h.mmul(w));
        }
        SDVariable out = viewed.mul(sd.reshape(h.sum(1), -1, 1, 1)).add(copied).sum(2).sum("out", 1);
        out.mul(out).mean("loss");
        sd.setLossVariables("loss");
        ExecutionPlan plan = ExecutionPlan.compile(sd, List.of("out"), true);
        for (long n : new long[] {3, 5, 3}) {
            Map<String, INDArray> feed = Map.of("x", input(n, n));
            assertSameBytes(sd.output(new HashMap<>(feed), "out").get("out"), plan.run(feed).get("out"));
        }
        assertEquals(4, plan.viewCount(), "reshape, expand_dims and squeeze of the product, the reshape of the sum");
        // and in the gradient function, through a graph's plans (checked against the session at every call)
        MutableGraph g = MutableGraph.of(sd);
        String init = g.param("W").initial().name();
        Map<String, INDArray> feed = Map.of("x", input(4, 9));
        assertSameBytes(Fixtures.gradients(sd, feed, init).get(init), g.gradients(feed, init).get(init));
    }

    @Test
    void theStrictCheckNamesTheFirstDifferentElement() {
        INDArray session = Nd4j.createFromArray(1.0, 2.0, 3.0);
        INDArray plan = session.dup();
        plan.putScalar(2, Math.nextUp(3.0));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ExecutionPlans.requireSame("h/out", session, plan, true));
        assertTrue(e.getMessage().contains("\"h/out\"") && e.getMessage().contains("element 2"), e.getMessage());
        assertThrows(IllegalStateException.class,
                () -> ExecutionPlans.requireSame("h/out", session, session.reshape(1, 3), true));
        assertThrows(IllegalStateException.class,
                () -> ExecutionPlans.requireSame("h/out", session, session.castTo(DataType.FLOAT), false));
        assertThrows(IllegalStateException.class, () -> ExecutionPlans.requireSame("h/out", session, null, true));
        assertDoesNotThrow(() -> ExecutionPlans.requireSame("h/out", session, plan, false));
        assertDoesNotThrow(() -> ExecutionPlans.requireSame("h/out", session, session.dup('f'), true));
    }

    @Test
    void theSessionPropertyBypassesPlans() {
        SameDiff sd = chain(1);
        MutableGraph g = MutableGraph.of(sd);
        String before = System.getProperty(ExecutionPlans.EXECUTION_PROPERTY);
        System.setProperty(ExecutionPlans.EXECUTION_PROPERTY, "session");
        try {
            INDArray out = g.output(Map.of("x", input(3, 1)), "out").get("out");
            assertArrayEquals(new long[] {3}, out.shape());
            assertTrue(plans(g).isEmpty());
        } finally {
            if (before == null) {
                System.clearProperty(ExecutionPlans.EXECUTION_PROPERTY);
            } else {
                System.setProperty(ExecutionPlans.EXECUTION_PROPERTY, before);
            }
        }
        g.output(Map.of("x", input(3, 1)), "out");
        assertEquals(1, plans(g).size());
    }
}
