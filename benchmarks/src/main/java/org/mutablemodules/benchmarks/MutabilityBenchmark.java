package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
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
 * What mutability costs: the SameDiff MLP 784-256-10 (batch 128) plain, made mutable without mutation, and with its
 * weights fed by an upstream expression ({@code W = U * 1}, U trainable), forward and SGD training step.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MutabilityBenchmark {

    /**
     * plain: untouched graph; mutable: MutableGraph.of, no mutation; upstream: W1, W2 fed from upstream; handFed: the
     * upstream graph built by hand in plain SameDiff (upstream against handFed is the library's own cost).
     */
    @Param({"plain", "mutable", "upstream", "handFed"})
    public String variant;

    private SameDiff sd;
    private Map<String, INDArray> feed;
    private MultiDataSet batch;

    /** Builds the graph and the data. */
    @Setup
    public void setUp() {
        NativeThreads.applyDefault();   // the same threads for the reference as for the library
        sd = Models.sameDiffMlp("handFed".equals(variant));
        if ("mutable".equals(variant) || "upstream".equals(variant)) {
            MutableGraph g = MutableGraph.of(sd);
            if ("upstream".equals(variant)) {
                for (String w : new String[] {"W1", "W2"}) {
                    INDArray init = g.param(w).initial().getArr().dup();
                    SDVariable u = sd.var("U_" + w, init);
                    g.param(w).set(u.mul(1.0));
                }
            }
        }
        INDArray x = Models.features(Models.BATCH, 784);
        INDArray y = Models.oneHot(Models.BATCH, 10);
        feed = Map.of("x", x);
        batch = new MultiDataSet(x, y);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Sgd(0.01))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        Models.quietly(() -> sd.fit(batch));
    }

    /** Forward pass. */
    @Benchmark
    public INDArray forward() {
        return sd.output(feed, "out").get("out");
    }

    /** One SGD training step. */
    @Benchmark
    public Object trainStep() {
        return sd.fit(batch);
    }
}
