package org.mutablemodules.benchmarks;

import java.util.concurrent.TimeUnit;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.dataset.MultiDataSet;
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
 * -> 203,530 weights) generating the MLP 784-256-10, on a batch of 128.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class HypernetworkBenchmark {

    /** Which hypernetwork. */
    @Param({"sine", "mlp784"})
    public String model;

    private SameDiff sd;
    private MultiDataSet batch;

    /** Builds the graph and one batch. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        Models.Hypernetwork h = Models.hypernetwork(model);
        sd = h.sd();
        batch = h.batch();
        Models.quietly(() -> sd.fit(batch));
    }

    /** One Adam step of the hypernetwork through the generated network. */
    @Benchmark
    public Object trainStep() {
        return sd.fit(batch);
    }
}
