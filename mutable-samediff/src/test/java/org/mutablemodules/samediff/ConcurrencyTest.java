package org.mutablemodules.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Stress test of the documented thread-safety: threads computing outputs and gradients through {@link MutableGraph}
 * while another thread mutates, resets and converts parameters. Every result must be the graph's value before or after
 * some mutation (one of the few values the parameter takes), never a mixture, and no call may throw.
 */
class ConcurrencyTest {

    private static final int READERS = 4;
    private static final int MUTATIONS = 300;
    private static final long SEED = 20261129L;

    @Test
    void computationsSeeEachMutationWholeAndNeverFail() throws InterruptedException {
        System.out.println("ConcurrencyTest: readers=" + READERS + " mutations=" + MUTATIONS + " seed=" + SEED);
        Random random = new Random(SEED);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 3);
        INDArray w0 = Nd4j.rand(DataType.DOUBLE, 3, 2);
        SDVariable w = sd.var("W", w0);
        SDVariable b = sd.var("b", Nd4j.zeros(DataType.DOUBLE, 2));
        SDVariable out = x.mmul(w).add("out", b);
        sd.math().square(out).mean("loss");
        sd.setLossVariables("loss");
        MutableGraph g = MutableGraph.of(sd, "W");

        // W only ever takes one of these values; b stays zero (it is made mutable half-way, which changes no value).
        List<INDArray> values = new ArrayList<>(List.of(w0));
        for (int k = 1; k <= 4; k++) {
            values.add(Nd4j.valueArrayOf(new long[] {3, 2}, k, DataType.DOUBLE));
        }
        INDArray input = Nd4j.rand(DataType.DOUBLE, 5, 3);
        List<INDArray> outputs = new ArrayList<>();
        List<INDArray> gradients = new ArrayList<>();
        List<INDArray> observable = new ArrayList<>(values);
        observable.add(Nd4j.zeros(DataType.DOUBLE, 3, 2));   // between muli(0) and addi(k): a state of its own
        for (INDArray v : observable) {
            INDArray o = input.mmul(v);
            outputs.add(o);
            gradients.add(input.transpose().mmul(o.mul(2.0 / o.length())));   // d mean(o^2) / dW
        }

        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger reads = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch started = new CountDownLatch(READERS);
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < READERS; t++) {
            boolean gradientsToo = t % 2 == 1;
            Thread reader = new Thread(() -> {
                started.countDown();
                while (!done.get()) {
                    try {
                        if (gradientsToo) {
                            INDArray grad = g.gradients(Map.of("x", input), "W").get("W");
                            if (!matchesOne(grad, gradients)) {
                                failures.add("gradient matching no value of W: " + grad);
                            }
                        } else {
                            INDArray o = g.output(Map.of("x", input), "out").get("out");
                            if (!matchesOne(o, outputs)) {
                                failures.add("output matching no value of W: " + o);
                            }
                        }
                        reads.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                }
            });
            readers.add(reader);
            reader.start();
        }
        started.await();
        for (int i = 0; i < MUTATIONS; i++) {
            int k = random.nextInt(values.size());
            // Each value stays computed from W/init (times zero), so that SameDiff defines W's gradient throughout.
            if (k == 0) {
                g.param("W").reset();
            } else if (random.nextBoolean()) {
                double value = k;
                g.param("W").apply(v -> v.mul(0).add(value));
            } else {
                // the same value in two mutations
                g.param("W").muli(0).addi(k);
            }
            if (i == MUTATIONS / 2) {
                MutableGraph.of(sd, "b");
            }
        }
        done.set(true);
        for (Thread reader : readers) {
            reader.join();
        }
        System.out.println("ConcurrencyTest: " + reads.get() + " computations, " + failures.size() + " failures");
        assertEquals(List.of(), new ArrayList<>(failures).subList(0, Math.min(5, failures.size())));
        assertTrue(reads.get() >= READERS, "the readers ran");
        assertTrue(g.isMutable("b"));
    }

    private static boolean matchesOne(INDArray actual, List<INDArray> candidates) {
        for (INDArray c : candidates) {
            if (actual.equalsWithEps(c, 1e-9)) {
                return true;
            }
        }
        return false;
    }
}
