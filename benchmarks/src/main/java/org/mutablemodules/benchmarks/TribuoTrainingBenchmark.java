package org.mutablemodules.benchmarks;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.mutablemodules.samediff.NativeThreads;
import org.mutablemodules.tribuo.HypernetworkTrainer;
import org.mutablemodules.tribuo.MutableNetworkTrainer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
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
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;

/**
 * One whole {@code train()} call of the Tribuo trainers with Adam, on generated regression data: {@code network}, a
 * {@link MutableNetworkTrainer} of an MLP 5-64-64-1, and {@code hypernetwork}, a {@link HypernetworkTrainer}
 * generating a linear model's weights from two context features. 2,000 examples, minibatches of 32, 5 epochs (315
 * steps). Single-shot: the time includes conversion and the gradient function's build, as a user's call does.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TribuoTrainingBenchmark {

    /** Which trainer. */
    @Param({"network", "hypernetwork"})
    public String trainer;

    private MutableDataset<Regressor> data;

    /** Generates the data. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();
        data = grouped(2000, 7L);
    }

    /**
     * One {@code train()} call.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public Model<Regressor> train() {
        if ("network".equals(trainer)) {
            MultiLayerConfiguration mlp = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                    .layer(new DenseLayer.Builder().nIn(5).nOut(64).activation(Activation.TANH).build())
                    .layer(new DenseLayer.Builder().nOut(64).activation(Activation.TANH).build())
                    .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
                    .build();
            return MutableNetworkTrainer.regression(mlp)
                    .updater(new Adam(0.01)).epochs(5).minibatchSize(32).seed(1L).build().train(data);
        }
        MultiLayerConfiguration linear = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build();
        return HypernetworkTrainer.regression(linear).contextPrefix("context.")
                .hypernetwork(new int[] {32}, Activation.TANH).updater(new Adam(0.01)).epochs(5).minibatchSize(32)
                .seed(1L).build().train(data);
    }

    /** Examples whose linear coefficients over x1..x3 depend on a context (a, b), 20 examples per context. */
    static MutableDataset<Regressor> grouped(int examples, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        MutableDataset<Regressor> data = new MutableDataset<>(
                new SimpleDataSourceProvenance("generated, seed " + seed, new RegressionFactory()),
                new RegressionFactory());
        String[] names = {"context.a", "context.b", "x1", "x2", "x3"};
        double a = 0;
        double b = 0;
        for (int i = 0; i < examples; i++) {
            if (i % 20 == 0) {
                a = rng.nextDouble(-1, 1);
                b = rng.nextDouble(-1, 1);
            }
            double[] x = {rng.nextDouble(-1, 1), rng.nextDouble(-1, 1), rng.nextDouble(-1, 1)};
            double y = 2 * a * x[0] + (b - 1.5) * x[1] + 2 * a * b * x[2] + 0.5 * b + rng.nextGaussian() * 0.05;
            data.add(new ArrayExample<>(new Regressor("y", y), names, new double[] {a, b, x[0], x[1], x[2]}));
        }
        return data;
    }
}
