package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Bad input at {@link MutableNetwork}'s entry points (the 7-16-3 perceptron a new user tried: each mistake is refused
 * with a message naming the input, what was given and what was expected, before native code runs, and the network
 * still works afterwards), and its thread-safety under mutation.
 */
class MutableNetworkReliabilityTest {

    private static MultiLayerNetwork mlp() {
        return Networks.network(DataType.DOUBLE, InputType.feedForward(7),
                new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(3).build());
    }

    private static final INDArray X = Networks.randn(DataType.DOUBLE, 1, 5, 7);
    private static final INDArray Y = Networks.oneHot(DataType.DOUBLE, 2, 5, 3);

    static Stream<Arguments> badCalls() {
        return Stream.of(
                bad("input of the wrong width", m -> () -> m.output(Networks.randn(DataType.DOUBLE, 3, 5, 6)),
                        "[5, 6]", "[N, 7]"),
                bad("input of the wrong rank", m -> () -> m.output(Networks.randn(DataType.DOUBLE, 3, 5, 7, 2)),
                        "[5, 7, 2]", "[N, 7]"),
                bad("null input", m -> () -> m.output((INDArray) null), "input", "null"),
                bad("null input array", m -> () -> m.outputs((INDArray[]) null), "inputs"),
                bad("two inputs for one", m -> () -> m.outputs(X, X), "2 input", "1 input"),
                bad("labels of the wrong width", m -> () -> m.score(X, Networks.oneHot(DataType.DOUBLE, 4, 5, 4)),
                        "labels", "[5, 4]", "[N, 3]"),
                bad("labels with other row count", m -> () -> m.score(X, Networks.oneHot(DataType.DOUBLE, 4, 6, 3)),
                        "6 rows", "5 examples", "output 5 rows"),
                bad("null labels", m -> () -> m.gradients(X, null), "labels"),
                bad("unknown extra placeholder", m -> () -> m.output(X, Map.of("taks", X)), "\"taks\"", "placeholder"),
                bad("null placeholder map", m -> () -> m.output(X, null), "otherPlaceholders"),
                bad("unknown layer name", m -> () -> m.param("layer9", "W"), "layer9"),
                bad("unknown parameter key", m -> () -> m.param(0, "RW"), "RW"),
                bad("NaN input with the finite check on", m -> {
                    m.graph().checkFinite(true);
                    INDArray x = X.dup();
                    x.putScalar(4, 6, Double.NaN);
                    return () -> m.score(x, Y);
                }, "\"input\"", "NaN at [4, 6]"));
    }

    private static Arguments bad(String name, Function<MutableNetwork, Executable> prepare, String... parts) {
        return Arguments.of(name, prepare, List.of(parts));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCalls")
    void refusedByNameAndTheNetworkStillWorks(String name, Function<MutableNetwork, Executable> prepare,
                                              List<String> parts) {
        MultiLayerNetwork net = mlp();
        MutableNetwork m = MutableNetwork.of(net);
        m.param(0, "W").muli(0.5);
        INDArray outBefore = m.output(X);
        double scoreBefore = m.score(X, Y);
        Executable call = prepare.apply(m);
        RuntimeException e = assertThrows(RuntimeException.class, call);
        assertTrue(e instanceof IllegalArgumentException || e instanceof NullPointerException,
                "expected IllegalArgumentException or NullPointerException, got " + e);
        for (String part : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(part),
                    "message should contain " + part + ": " + e.getMessage());
        }
        m.graph().checkFinite(false);
        assertEquals(outBefore, m.output(X));
        assertEquals(scoreBefore, m.score(X, Y), 0.0);
        assertEquals("mul(layer0/W:init, 0.5)", m.param(0, "W").history());
    }

    @Test
    void aSavedNetworkWithAHypernetworkGoesOnAfterLoadingAsWithoutTheRestart(@TempDir Path dir) throws IOException {
        MutableNetwork m = MutableNetwork.of(mlp());
        SameDiff sd = m.graph().sameDiff();
        m.param(0, "W").muli(0.5);
        SDVariable task = sd.constant("task", Nd4j.createFromArray(new double[][] {{1.0, -0.5}}));
        SDVariable hyper = task.mmul(sd.var("hyper/W", Networks.randn(DataType.DOUBLE, 5, 2, 51).muli(0.2)));
        m.graph().setFromFlat(hyper, m.param(1, "W").name(), m.param(1, "b").name());
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(0.01))
                .dataSetFeatureMapping(m.inputName()).dataSetLabelMapping(m.labelName()).build());
        MultiDataSet data = new MultiDataSet(X, Y);
        sd.fit(data);
        sd.fit(data);
        Path file = dir.resolve("net.mmn");
        m.save(file);
        MutableNetwork loaded = MutableNetwork.load(file);

        assertEquals(m.output(X), loaded.output(X));
        assertEquals(m.score(X, Y), loaded.score(X, Y), 0.0);
        Map<String, INDArray> g1 = m.gradients(X, Y);
        Map<String, INDArray> g2 = loaded.gradients(X, Y);
        assertEquals(g1.keySet(), g2.keySet());
        g1.forEach((k, v) -> assertEquals(v, g2.get(k), k));
        for (String key : m.parameterKeys()) {
            assertEquals(m.param(key).history(), loaded.param(key).history(), key);
        }
        assertEquals(m.parameterKeys(), loaded.parameterKeys());
        assertEquals(m.toMultiLayerNetwork(Map.of()).output(X), loaded.toMultiLayerNetwork(Map.of()).output(X));
        for (int i = 0; i < 3; i++) {
            sd.fit(data);
            loaded.graph().sameDiff().fit(data);
            assertEquals(m.score(X, Y), loaded.score(X, Y), 0.0, "step " + i);
        }
    }

    @Test
    void aComputationGraphRoundTripsAndDamageIsRefused() throws IOException {
        ComputationGraph net = Networks.graph(DataType.DOUBLE, b -> b.addInputs("a", "b")
                .setInputTypes(InputType.feedForward(4), InputType.feedForward(3))
                .addLayer("da", new DenseLayer.Builder().nOut(5).activation(Activation.RELU).build(), "a")
                .addLayer("db", new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(), "b")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "da", "db")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                        .build(), "sum")
                .setOutputs("out"));
        MutableNetwork m = MutableNetwork.of(net);
        m.param("db", "W").apply(v -> v.mul(-1));
        INDArray[] in = {Networks.randn(DataType.DOUBLE, 7, 3, 4), Networks.randn(DataType.DOUBLE, 8, 3, 3)};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.save(out);
        MutableNetwork loaded = MutableNetwork.load(new ByteArrayInputStream(out.toByteArray()));
        assertEquals(m.outputs(in)[0], loaded.outputs(in)[0]);
        assertEquals(m.param("db", "W").history(), loaded.param("db", "W").history());
        assertEquals(m.toComputationGraph(Map.of()).outputSingle(in), loaded.toComputationGraph(Map.of()).outputSingle(in));

        byte[] bytes = out.toByteArray();
        IOException truncated = assertThrows(IOException.class,
                () -> MutableNetwork.load(new ByteArrayInputStream(Arrays.copyOf(bytes, bytes.length * 2 / 3))));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        byte[] flipped = bytes.clone();
        flipped[bytes.length / 3] ^= 0x24;
        IOException corrupted = assertThrows(IOException.class,
                () -> MutableNetwork.load(new ByteArrayInputStream(flipped)));
        assertTrue(corrupted.getMessage().matches("(?s).*(corrupted|truncated|damaged).*"), corrupted.getMessage());
        ByteArrayOutputStream graphOnly = new ByteArrayOutputStream();
        m.graph().save(graphOnly);
        IOException foreign = assertThrows(IOException.class,
                () -> MutableNetwork.load(new ByteArrayInputStream(graphOnly.toByteArray())));
        assertTrue(foreign.getMessage().contains("not a mutable-modules network file"), foreign.getMessage());
    }

    @Test
    void flatLabelsOfASequenceInputHaveOneRowPerExampleAndTimeStep() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .dataType(DataType.DOUBLE).list()
                .layer(new LSTM.Builder().nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .inputPreProcessor(1, new RnnToFeedForwardPreProcessor())
                .setInputType(InputType.recurrent(3, 4)).build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        INDArray x = Networks.randn(DataType.DOUBLE, 5, 3, 3, 4);      // 3 examples, 4 time steps
        INDArray y = Networks.randn(DataType.DOUBLE, 6, 12, 2);        // one row per example and time step
        assertEquals(Networks.dl4jInferenceScore(net, new INDArray[] {x}, new INDArray[] {y}), m.score(x, y), 1e-10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.score(x, Networks.randn(DataType.DOUBLE, 7, 10, 2)));
        assertTrue(e.getMessage().contains("10 rows") && e.getMessage().contains("output 12 rows"), e.getMessage());
    }

    @Test
    void computationsDuringMutationsSeeTheNetworkBeforeOrAfterEach() throws InterruptedException {
        int readers = 4;
        int mutations = 200;
        long seed = 1129L;
        System.out.println("MutableNetwork stress: readers=" + readers + " mutations=" + mutations + " seed=" + seed);
        MultiLayerNetwork net = mlp();
        MutableNetwork m = MutableNetwork.of(net);
        double[] scales = {1, 0.5, 2, -1};
        Map<Double, INDArray> outputs = new HashMap<>();
        Map<Double, Double> scores = new HashMap<>();
        // Each mutation below is three changes (times 0, reset, times s); W = 0 between the first two is a state too.
        for (double s : new double[] {1, 0.5, 2, -1, 0}) {
            m.param(0, "W").reset().muli(s);
            outputs.put(s, m.output(X));
            scores.put(s, m.score(X, Y));
        }
        m.param(0, "W").reset();
        Random random = new Random(seed);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch started = new CountDownLatch(readers);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < readers; t++) {
            boolean scoring = t % 2 == 0;
            Thread thread = new Thread(() -> {
                started.countDown();
                while (!done.get()) {
                    try {
                        if (scoring) {
                            double s = m.score(X, Y);
                            if (scores.values().stream().noneMatch(v -> Math.abs(v - s) < 1e-12)) {
                                failures.add("score " + s);
                            }
                            m.gradients(X, Y);
                        } else {
                            INDArray o = m.output(X);
                            if (outputs.values().stream().noneMatch(v -> v.equalsWithEps(o, 1e-12))) {
                                failures.add("output " + o);
                            }
                        }
                        calls.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                }
            });
            threads.add(thread);
            thread.start();
        }
        started.await();
        for (int i = 0; i < mutations; i++) {
            double s = scales[random.nextInt(scales.length)];
            m.param(0, "W").apply(v -> v.mul(0)).reset().muli(s);
        }
        done.set(true);
        for (Thread thread : threads) {
            thread.join();
        }
        System.out.println("MutableNetwork stress: " + calls.get() + " calls, " + failures.size() + " failures");
        assertEquals(List.of(), new ArrayList<>(failures).subList(0, Math.min(5, failures.size())));
        assertTrue(calls.get() >= readers);
    }
}
