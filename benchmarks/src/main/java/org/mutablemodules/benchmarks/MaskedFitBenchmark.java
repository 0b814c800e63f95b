package org.mutablemodules.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
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
 * DL4J's {@code fit} on masked minibatches of variable-length series, as data bucketed by length arrive: an LSTM
 * 8-32-32-2 network, minibatches of 32 series with features and labels masks, whose length cycles through
 * {@code lengths} values (16 to 21 steps) from one step to the next; DL4J's own {@code fit} against
 * {@code MutableNetwork.fit}, which trains a masked copy of the network per length.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MaskedFitBenchmark {

    /** How many series lengths the minibatches cycle through. */
    @Param({"1", "2", "6"})
    public int lengths;

    /** native: DL4J's MultiLayerNetwork.fit; converted: MutableNetwork.fit. */
    @Param({"native", "converted"})
    public String impl;

    private MultiLayerNetwork net;
    private MutableNetwork converted;
    private final List<DataSet> batches = new ArrayList<>();
    private int next;

    /** Builds the network and the minibatches, and trains once on each length (the copies built). */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();
        net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                .updater(new Adam(1e-3)).list()
                .layer(new LSTM.Builder().nIn(8).nOut(32).build())
                .layer(new LSTM.Builder().nOut(32).build())
                .layer(new RnnOutputLayer.Builder(LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .setInputType(InputType.recurrent(8)).build());
        net.init();
        Nd4j.getRandom().setSeed(3);
        for (int i = 0; i < lengths; i++) {
            int t = 16 + i;
            INDArray mask = Nd4j.ones(DataType.FLOAT, 32, t);
            for (int n = 0; n < 32; n += 3) {
                mask.putScalar(n, t - 1, 0);           // every third series a step shorter
            }
            batches.add(new DataSet(Nd4j.rand(DataType.FLOAT, 32, 8, t), Nd4j.rand(DataType.FLOAT, 32, 2, t), mask,
                    mask.dup()));
        }
        if ("converted".equals(impl)) {
            converted = MutableNetwork.of(net);
        }
        for (DataSet d : batches) {
            step(d);
        }
    }

    private void step(DataSet d) {
        if (converted != null) {
            converted.fit(d);
        } else {
            net.fit(d);
        }
    }

    /** One training step on the next minibatch (the next length). */
    @Benchmark
    public void fitStep() {
        step(batches.get(next));
        next = (next + 1) % batches.size();
    }
}
