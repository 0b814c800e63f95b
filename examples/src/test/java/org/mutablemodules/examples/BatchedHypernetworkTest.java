package org.mutablemodules.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.examples.HypernetworkDemo.Model;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

/**
 * The main job's batched training path: K tasks' weights generated in one pass and the MLP applied per task by
 * rank-3 matrix products. It must compute what the converted DL4J network computes for each task, and its gradients
 * must match finite differences.
 */
class BatchedHypernetworkTest {

    @Test
    void eachTasksBatchedOutputIsTheConvertedNetworksOutputWithThatTasksWeights() {
        int k = 5;
        Model model = Model.build(DataType.FLOAT, 40, 64, k);
        MutableNetwork mutable = model.mutable();
        SameDiff sd = mutable.graph().sameDiff();
        Nd4j.getRandom().setSeed(11);
        // hypernetwork weights away from their start, so that every task gets different weights
        sd.getVariable("hyper/W2").getArr().addi(Nd4j.randn(DataType.FLOAT, 64, model.size()).muli(0.05));
        INDArray tasks = Nd4j.rand(DataType.FLOAT, k, 2).subi(0.5).muli(2);
        INDArray x = Nd4j.linspace(-3, 3, 7, DataType.FLOAT).reshape(7, 1);
        INDArray xs = Nd4j.tile(x.reshape(1, 7, 1), k, 1, 1);
        INDArray ys = Nd4j.rand(DataType.FLOAT, k, 7, 1);
        Map<String, INDArray> feed = Map.of(Model.TASKS, tasks, Model.XS, xs, Model.YS, ys);
        Map<String, INDArray> batched = sd.output(new HashMap<>(feed), Model.BATCH_OUTPUT, Model.BATCH_LOSS);

        double lossSum = 0;
        for (int t = 0; t < k; t++) {
            INDArray task = tasks.getRow(t).reshape(1, 2);
            INDArray single = mutable.output(x, Map.of("task", task));
            INDArray fromBatch = batched.get(Model.BATCH_OUTPUT).get(NDArrayIndex.point(t), NDArrayIndex.all(),
                    NDArrayIndex.all()).reshape(7, 1);
            double difference = single.sub(fromBatch).amaxNumber().doubleValue();
            assertTrue(difference < 1e-5, "task " + t + ": batched output differs by " + difference);
            INDArray y = ys.get(NDArrayIndex.point(t), NDArrayIndex.all(), NDArrayIndex.all()).reshape(7, 1);
            lossSum += mutable.score(new INDArray[] {x}, new INDArray[] {y}, Map.of("task", task));
        }
        assertEquals(lossSum / k, batched.get(Model.BATCH_LOSS).getDouble(0), 1e-5,
                "the batched loss is the mean of the tasks' DL4J scores");
    }

    @Test
    void theBatchedLossesGradientsMatchCentralDifferences() {
        // The demo's graph at a size a full finite-difference check can afford, in DOUBLE.
        int k = 3;
        Model model = Model.build(DataType.DOUBLE, 3, 4, k);
        SameDiff sd = model.mutable().graph().sameDiff();
        Nd4j.getRandom().setSeed(3);
        sd.getVariable("hyper/W2").getArr().addi(Nd4j.randn(DataType.DOUBLE, 4, model.size()).muli(0.3));
        Map<String, INDArray> feed = Map.of(
                Model.TASKS, Nd4j.randn(DataType.DOUBLE, k, 2),
                Model.XS, Nd4j.randn(DataType.DOUBLE, k, 5, 1),
                Model.YS, Nd4j.randn(DataType.DOUBLE, k, 5, 1));
        sd.setLossVariables(Model.BATCH_LOSS);
        // ND4J's GradCheckUtil insists on gradients for every placeholder of the graph, and the converted network's
        // own placeholders do not reach this loss; so the same central differences, element by element, here.
        List<String> hyper = List.of("hyper/W1", "hyper/b1", "hyper/W2", "hyper/b2");
        Map<String, INDArray> analytic = quietly(() -> sd.calculateGradients(new HashMap<>(feed), hyper));
        double eps = 1e-6;
        int checked = 0;
        for (String name : hyper) {
            INDArray param = sd.getVariable(name).getArr();
            INDArray gradient = analytic.get(name).reshape(param.shape());
            for (long i = 0; i < param.length(); i++) {
                double original = param.getDouble(i);
                param.putScalar(i, original + eps);
                double plus = loss(sd, feed);
                param.putScalar(i, original - eps);
                double minus = loss(sd, feed);
                param.putScalar(i, original);
                double numeric = (plus - minus) / (2 * eps);
                double g = gradient.getDouble(i);
                double error = Math.abs(g - numeric) / Math.max(Math.abs(g) + Math.abs(numeric), 1e-300);
                assertTrue(error < 1e-5 || Math.abs(g - numeric) < 1e-8, name + "[" + i + "]: analytic " + g
                        + ", finite differences " + numeric);
                checked++;
            }
        }
        assertEquals(8 + 4 + 4 * model.size() + model.size(), checked, "every element of the hypernetwork");
        assertTrue(analytic.get("hyper/W2").amaxNumber().doubleValue() > 1e-3, "a gradient that is not trivially 0");
    }

    private static double loss(SameDiff sd, Map<String, INDArray> feed) {
        return sd.output(new HashMap<>(feed), Model.BATCH_LOSS).get(Model.BATCH_LOSS).getDouble(0);
    }

    private static <T> T quietly(Supplier<T> body) {
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));     // ND4J prints a line per op
        try {
            return body.get();
        } finally {
            System.setOut(stdout);
        }
    }

    @Test
    void theTrainerTrainsTheHypernetworkAloneAndTheBatchedLossFalls() {
        int k = 4;
        Model model = Model.build(DataType.FLOAT, 40, 64, k);
        GraphTrainer trainer = GraphTrainer.builder(model.mutable().graph()).loss(Model.BATCH_LOSS)
                .updater(new Adam(2e-3)).build();
        assertEquals(List.of("hyper/W1", "hyper/W2", "hyper/b1", "hyper/b2"), trainer.trainedVariables());
        INDArray xs = Nd4j.tile(Nd4j.linspace(-3, 3, 20, DataType.FLOAT).reshape(1, 20, 1), k, 1, 1);
        INDArray tasks = Nd4j.createFromArray(new float[][] {{-0.5f, 1f}, {0.5f, -1f}, {0f, 0f}, {0.7f, 0.3f}});
        INDArray ys = Nd4j.math().sin(xs.add(tasks.getColumn(1).reshape(k, 1, 1)))
                .muli(tasks.getColumn(0).reshape(k, 1, 1).add(1.25));
        double[] losses = trainer.fit(() -> Map.of(Model.TASKS, tasks, Model.XS, xs, Model.YS, ys), 150);
        assertTrue(losses[149] < losses[0] / 10, "loss " + losses[0] + " -> " + losses[149]);
    }
}
