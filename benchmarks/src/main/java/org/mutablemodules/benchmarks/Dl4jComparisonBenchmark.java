package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Converted versus native DL4J: the MLP 784-256-10 (batch 128) and a LeNet-like CNN on 28x28 images (batch 32),
 * {@code output} and one SGD training step, in DL4J itself and converted ({@code MutableNetwork.output},
 * {@link GraphTrainer} steps).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class Dl4jComparisonBenchmark {

    /** The network. */
    @Param({"mlp", "cnn"})
    public String model;

    /** native: DL4J's MultiLayerNetwork; converted: the MutableNetwork graph. */
    @Param({"native", "converted"})
    public String impl;

    private MultiLayerNetwork net;
    private MutableNetwork converted;
    private GraphTrainer trainer;
    private Map<String, INDArray> feed;
    private INDArray x;
    private INDArray y;

    /** Builds the network, converts it when needed, and warms the training path. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        boolean cnn = "cnn".equals(model);
        net = cnn ? Models.dl4jCnn() : Models.dl4jMlp();
        int n = cnn ? 32 : Models.BATCH;
        x = Models.features(n, 784);
        y = Models.oneHot(n, 10);
        if ("converted".equals(impl)) {
            converted = MutableNetwork.of(net);
            trainer = GraphTrainer.builder(converted.graph()).loss(converted.lossName()).updater(new Sgd(0.01))
                    .build();
            feed = Map.of(converted.inputName(), x, converted.labelName(), y);
            trainer.step(feed);
        } else {
            net.fit(x, y);
        }
    }

    /**
     * Inference.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public INDArray output() {
        return "native".equals(impl) ? net.output(x) : converted.output(x);
    }

    /**
     * One SGD training step: DL4J's {@code fit}, or a {@link GraphTrainer} step of the converted graph.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public Object trainStep() {
        if ("native".equals(impl)) {
            net.fit(x, y);
            return net;
        }
        return trainer.step(feed);
    }
}
