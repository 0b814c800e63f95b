package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
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
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
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
                        "6 examples", "5"),
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
