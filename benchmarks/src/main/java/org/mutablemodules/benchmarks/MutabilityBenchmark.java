package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
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
 * What mutability costs: the SameDiff MLP 784-256-10 (batch 128) plain and with its weights fed by an upstream
 * expression ({@code W = U * 1}, U trainable), forward ({@link MutableGraph#output}) and SGD training step
 * ({@link GraphTrainer}). Making a graph mutable changes nothing until a parameter is mutated, so the plain graph runs
 * through the same view.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MutabilityBenchmark {

    /**
     * plain: no mutation; upstream: W1, W2 fed from upstream; handFed: the upstream graph built by hand in plain
     * SameDiff (upstream against handFed is the library's own cost).
     */
    @Param({"plain", "upstream", "handFed"})
    public String variant;

    private MutableGraph graph;
    private GraphTrainer trainer;
    private Map<String, INDArray> input;
    private Map<String, INDArray> feed;

    /** Builds the graph and the data. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        SameDiff sd = Models.sameDiffMlp("handFed".equals(variant));
        graph = MutableGraph.of(sd);
        if ("upstream".equals(variant)) {
            for (String w : new String[] {"W1", "W2"}) {
                INDArray init = graph.param(w).initial().getArr().dup();
                SDVariable u = sd.var("U_" + w, init);
                graph.param(w).set(u.mul(1.0));
            }
        }
        INDArray x = Models.features(Models.BATCH, 784);
        INDArray y = Models.oneHot(Models.BATCH, 10);
        input = Map.of("x", x);
        feed = Map.of("x", x, "y", y);
        trainer = GraphTrainer.builder(graph).updater(new Sgd(0.01)).build();
        trainer.step(feed);
    }

    /**
     * Forward pass.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public INDArray forward() {
        return graph.output(input, "out").get("out");
    }

    /**
     * One SGD training step.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public double trainStep() {
        return trainer.step(feed);
    }
}
