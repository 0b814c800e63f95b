package org.mutablemodules.benchmarks;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One MAML meta-step of the {@code MamlSine} example (the figure compared with {@code bench/maml_reference.py bench},
 * which builds the same step in PyTorch): a converted DL4J MLP 1-40-40-1 (ReLU, FLOAT), 10 sine tasks of 10 support
 * and 10 query points, one inner step {@code W' = W - 0.01 dL_support/dW} through {@code lossGradients}, the mean
 * query loss of the adapted networks differentiated down to W (second order; first order stops the inner gradients),
 * and an Adam update by {@link GraphTrainer}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MamlBenchmark {

    private static final int TASKS = 10;
    private static final int POINTS = 10;
    private static final String[] PARTS = {"support_x", "support_y", "query_x", "query_y"};

    /** Second- or first-order MAML. */
    @Param({"second", "first"})
    public String order;

    /**
     * Through execution plans (the library's default) or SameDiff's own session (system property
     * {@code mutablemodules.execution=session}), side by side in one run.
     */
    @Param({"plan", "session"})
    public String execution;

    private GraphTrainer trainer;
    private Map<String, INDArray> feed;

    /** Builds the meta-loss graph and one meta-batch. */
    @Setup
    public void setUp() {
        System.setProperty("mutablemodules.execution", execution);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(42)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(40).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(40).nOut(40).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(40).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        boolean secondOrder = "second".equals(order);
        Random r = new Random(1);
        feed = new HashMap<>();
        SDVariable total = null;
        for (int t = 0; t < TASKS; t++) {
            SDVariable[] data = new SDVariable[4];
            for (int p = 0; p < 4; p++) {
                data[p] = sd.placeHolder("task" + t + "/" + PARTS[p], DataType.FLOAT, -1, 1);
            }
            Map<String, SDVariable> gradients = m.lossGradients(data[0], data[1], Map.of());
            Map<String, SDVariable> adapted = new LinkedHashMap<>();
            gradients.forEach((key, g) -> adapted.put(key, m.param(key).value().sub(
                    (secondOrder ? g : new StopGradient(sd, g).outputVariable()).mul(0.01))));
            SDVariable query = m.loss(data[2], data[3], adapted);
            total = total == null ? query : total.add(query);
            double amplitude = 0.1 + 4.9 * r.nextDouble();
            double phase = Math.PI * r.nextDouble();
            for (int p = 0; p < 4; p += 2) {
                float[] x = new float[POINTS];
                float[] y = new float[POINTS];
                for (int i = 0; i < POINTS; i++) {
                    x[i] = (float) (10 * r.nextDouble() - 5);
                    y[i] = (float) (amplitude * Math.sin(x[i] - phase));
                }
                feed.put("task" + t + "/" + PARTS[p], Nd4j.createFromArray(x).reshape(POINTS, 1));
                feed.put("task" + t + "/" + PARTS[p + 1], Nd4j.createFromArray(y).reshape(POINTS, 1));
            }
        }
        SDVariable metaLoss = total.div("metaLoss", TASKS);
        trainer = GraphTrainer.builder(m.graph()).loss(metaLoss.name()).updater(new Adam(1e-3)).build();
        trainer.step(feed);
    }

    /**
     * One meta-step: inner steps of 10 tasks, meta-gradient through them, Adam update.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public double metaStep() {
        return trainer.step(feed);
    }
}
