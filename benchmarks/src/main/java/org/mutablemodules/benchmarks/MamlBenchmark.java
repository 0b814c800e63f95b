package org.mutablemodules.benchmarks;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
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
 * One MAML meta-step (the figure compared with {@code bench/maml_reference.py bench}, which builds the same steps in
 * PyTorch), of the {@code MamlSine} example ({@code model=sine}: a converted DL4J MLP 1-40-40-1, ReLU, 10 sine tasks of
 * 10 support and 10 query points, inner rate 0.01) or of the {@code MamlFewShot} example ({@code model=conv}: two
 * blocks of 3x3 convolution with 8 channels, ReLU and 2x2 max pooling and a softmax head on 12x12 images, 4 tasks of
 * 5 support and 15 query images, inner rate 0.4), FLOAT: one inner step {@code W' = W - rate dL_support/dW} through
 * {@code lossGradients}, the mean query loss of the adapted networks differentiated down to W (second order; first
 * order stops the inner gradients), and an Adam update by {@link GraphTrainer}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MamlBenchmark {

    private static final String[] PARTS = {"support_x", "support_y", "query_x", "query_y"};
    private static final int IMAGE = 12;
    private static final int WAYS = 5;

    /** The sine-regression MLP or the convolutional few-shot classifier. */
    @Param({"sine", "conv"})
    public String model;

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
        boolean conv = "conv".equals(model);
        MultiLayerNetwork net = conv ? convolutional() : mlp();
        int tasks = conv ? 4 : 10;
        double innerRate = conv ? 0.4 : 0.01;
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        boolean secondOrder = "second".equals(order);
        Random r = new Random(1);
        feed = new HashMap<>();
        SDVariable total = null;
        for (int t = 0; t < tasks; t++) {
            SDVariable[] data = new SDVariable[4];
            for (int p = 0; p < 4; p++) {
                long[] shape = p % 2 == 1 ? new long[] {-1, conv ? WAYS : 1}
                        : conv ? new long[] {-1, 1, IMAGE, IMAGE} : new long[] {-1, 1};
                data[p] = sd.placeHolder("task" + t + "/" + PARTS[p], DataType.FLOAT, shape);
            }
            Map<String, SDVariable> gradients = m.lossGradients(data[0], data[1], Map.of());
            Map<String, SDVariable> adapted = new LinkedHashMap<>();
            gradients.forEach((key, g) -> adapted.put(key, m.param(key).value().sub(
                    (secondOrder ? g : new StopGradient(sd, g).outputVariable()).mul(innerRate))));
            SDVariable query = m.loss(data[2], data[3], adapted);
            total = total == null ? query : total.add(query);
            if (conv) {
                feed.put("task" + t + "/support_x", Nd4j.rand(DataType.FLOAT, WAYS, 1, IMAGE, IMAGE));
                feed.put("task" + t + "/support_y", oneHot(WAYS));
                feed.put("task" + t + "/query_x", Nd4j.rand(DataType.FLOAT, 3 * WAYS, 1, IMAGE, IMAGE));
                feed.put("task" + t + "/query_y", oneHot(3 * WAYS));
                continue;
            }
            double amplitude = 0.1 + 4.9 * r.nextDouble();
            double phase = Math.PI * r.nextDouble();
            for (int p = 0; p < 4; p += 2) {
                float[] x = new float[10];
                float[] y = new float[10];
                for (int i = 0; i < 10; i++) {
                    x[i] = (float) (10 * r.nextDouble() - 5);
                    y[i] = (float) (amplitude * Math.sin(x[i] - phase));
                }
                feed.put("task" + t + "/" + PARTS[p], Nd4j.createFromArray(x).reshape(10, 1));
                feed.put("task" + t + "/" + PARTS[p + 1], Nd4j.createFromArray(y).reshape(10, 1));
            }
        }
        SDVariable metaLoss = total.div("metaLoss", tasks);
        trainer = GraphTrainer.builder(m.graph()).loss(metaLoss.name()).updater(new Adam(1e-3)).build();
        trainer.step(feed);
    }

    private static MultiLayerNetwork mlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(42)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(40).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(40).nOut(40).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(40).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build());
        net.init();
        return net;
    }

    private static MultiLayerNetwork convolutional() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(42)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).convolutionMode(ConvolutionMode.Same).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(WAYS).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(IMAGE, IMAGE, 1))
                .build());
        net.init();
        return net;
    }

    /** {@code n} one-hot rows of {@value #WAYS} classes, class after class. */
    private static INDArray oneHot(int n) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, WAYS);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, i % WAYS, 1);
        }
        return y;
    }

    /**
     * One meta-step: inner steps of every task, meta-gradient through them, Adam update.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public double metaStep() {
        return trainer.step(feed);
    }
}
