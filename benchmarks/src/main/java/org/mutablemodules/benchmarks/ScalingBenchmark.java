package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.MutableParameter;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * How the library scales: converting MLPs of 10, 100 and 1000 dense layers (8 units), and 10,000 chained mutations
 * of one parameter (building them, and executing the resulting graph).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ScalingBenchmark {

    /** Number of layers of the MLP converted. */
    @Param({"10", "100", "1000"})
    public int layers;

    private MultiLayerNetwork net;
    private SameDiff chained;

    /** Builds the DL4J network once. */
    @Setup(Level.Trial)
    public void buildNetwork() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                .list();
        for (int i = 0; i < layers - 1; i++) {
            b.layer(new DenseLayer.Builder().nIn(8).nOut(8).activation(Activation.TANH).build());
        }
        b.layer(new OutputLayer.Builder(LossFunction.MSE).nIn(8).nOut(2).activation(Activation.IDENTITY).build());
        net = new MultiLayerNetwork(b.build());
        net.init();
    }

    /** A graph with one parameter and 10,000 mutations of it, for {@link #execute10000ChainedMutations()}. */
    @Setup(Level.Iteration)
    public void buildChain() {
        chained = build10000ChainedMutations();
    }

    /**
     * Converting the whole network.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public MutableNetwork convert() {
        return MutableNetwork.of(net);
    }

    /**
     * Building a graph and applying 10,000 chained mutations (independent of {@code layers}).
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public SameDiff build10000ChainedMutations() {
        SameDiff sd = SameDiff.create();
        sd.var("W", Nd4j.ones(DataType.FLOAT, 16, 16));
        sd.getVariable("W").add("out", 0.0);
        MutableParameter w = MutableGraph.of(sd).param("W");
        for (int i = 0; i < 10_000; i++) {
            w.addi(1.0);
        }
        return sd;
    }

    /**
     * Executing the graph of 10,000 chained mutations once (independent of {@code layers}).
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public INDArray execute10000ChainedMutations() {
        return chained.output(Map.of(), "out").get("out");
    }
}
