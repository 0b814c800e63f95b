package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
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
 * One Adam step of a hypernetwork graph three ways: {@code sd.fit(MultiDataSet)} (a new training session per call,
 * losses not reported), {@code sd.output} of the loss followed by {@code sd.fit} (how the examples measured the real
 * loss before {@code GraphTrainer}), and {@link GraphTrainer#step} (loss and gradients in one pass, session reused).
 * Models as in {@link HypernetworkBenchmark}: {@code sine}, the main job's one-task graph (1,761 generated weights),
 * and {@code mlp784}, a hypernetwork generating the MLP 784-256-10 (203,530 weights) on a batch of 128.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TrainerBenchmark {

    /** Which hypernetwork. */
    @Param({"sine", "mlp784"})
    public String model;

    private SameDiff sd;
    private MultiDataSet batch;
    private Map<String, INDArray> feed;
    private String loss;
    private GraphTrainer trainer;

    /** Builds the graph, one batch and the trainer; runs one step of each kind. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        Models.Hypernetwork h = Models.hypernetwork(model);
        sd = h.sd();
        loss = h.loss();
        batch = h.batch();
        feed = h.feed();
        trainer = GraphTrainer.builder(sd).loss(loss).updater(new Adam(1e-4)).build();
        Models.quietly(() -> sd.fit(batch));
        trainer.step(feed);
    }

    /** {@return {@code sd.fit} on one batch: one update, no loss reported} */
    @Benchmark
    public Object sdFit() {
        return sd.fit(batch);
    }

    /** {@return the loss by {@code sd.output}, then {@code sd.fit}: one update and its real loss, the old way} */
    @Benchmark
    public double sdOutputThenFit() {
        double value = sd.output(feed, loss).get(loss).getDouble(0);
        sd.fit(batch);
        return value;
    }

    /** {@return {@code GraphTrainer#step}: one update and its real loss} */
    @Benchmark
    public double graphTrainerStep() {
        return trainer.step(feed);
    }
}
