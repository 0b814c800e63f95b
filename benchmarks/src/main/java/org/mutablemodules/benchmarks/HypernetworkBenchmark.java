package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A hypernetwork's training step (Adam), the figure compared with PyTorch ({@code bench/torch_reference.py} builds
 * the same two models): {@code sine}, the main job's task-conditioned hypernetwork (task [1, 2] -> 64 tanh -> all
 * 1,761 weights of a converted DL4J MLP 1-40-40-1, on 50 points); {@code mlp784}, a hypernetwork (task -> 32 tanh
 * -> 203,530 weights) generating the MLP 784-256-10, on a batch of 128. The step is the library's training call,
 * {@link GraphTrainer#step}, as the main job trains ({@link TrainerBenchmark} compares it with {@code sd.fit}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class HypernetworkBenchmark {

    /** Which hypernetwork. */
    @Param({"sine", "mlp784"})
    public String model;

    /**
     * Through execution plans (the library's default) or SameDiff's own session (system property
     * {@code mutablemodules.execution=session}), side by side in one run.
     */
    @Param({"plan", "session"})
    public String execution;

    private GraphTrainer trainer;
    private Map<String, INDArray> feed;

    /** Builds the graph, the trainer and one batch. */
    @Setup
    public void setUp() {
        System.setProperty("mutablemodules.execution", execution);
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        Models.Hypernetwork h = Models.hypernetwork(model);
        trainer = GraphTrainer.builder(h.sd()).loss(h.loss()).updater(new Adam(1e-4)).build();
        feed = h.feed();
        trainer.step(feed);
    }

    /**
     * One Adam step of the hypernetwork through the generated network.
     *
     * @return the result, returned so that JMH consumes it
     */
    @Benchmark
    public double trainStep() {
        return trainer.step(feed);
    }
}
