package org.mutablemodules.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.MutableGraph;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;
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
        INDArray task = Nd4j.createFromArray(new float[][] {{0.3f, -0.7f}});
        String input;
        String labels;
        String[] generated;
        int hidden;
        INDArray x;
        INDArray y;
        if ("sine".equals(model)) {
            MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
                    .dataType(DataType.FLOAT).list()
                    .layer(new DenseLayer.Builder().nIn(1).nOut(40).activation(Activation.TANH).build())
                    .layer(new DenseLayer.Builder().nOut(40).activation(Activation.TANH).build())
                    .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
                    .setInputType(InputType.feedForward(1)).build());
            net.init();
            MutableNetwork m = MutableNetwork.of(net);
            sd = m.graph().sameDiff();
            input = m.inputName();
            labels = m.labelName();
            loss = m.lossName();
            generated = m.graph().parameterNames().toArray(new String[0]);
            hidden = 64;
            x = Nd4j.linspace(-Math.PI, Math.PI, 50, DataType.FLOAT).reshape(50, 1);
            y = Transforms.sin(x.add(0.5));
        } else {
            sd = Models.sameDiffMlp();
            MutableGraph.of(sd);
            input = "x";
            labels = "y";
            loss = "loss";
            generated = new String[] {"W1", "b1", "W2", "b2"};
            hidden = 32;
            x = Models.features(Models.BATCH, 784);
            y = Models.oneHot(Models.BATCH, 10);
        }
        MutableGraph g = MutableGraph.of(sd, generated);
        long size = g.flatSize(generated);
        Nd4j.getRandom().setSeed(3);
        SDVariable t = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        SDVariable h = sd.math().tanh(t.mmul(sd.var("hyper/W1", Nd4j.randn(DataType.FLOAT, 2, hidden)))
                .add(sd.var("hyper/b1", Nd4j.zeros(DataType.FLOAT, hidden))));
        SDVariable flat = h.mmul(sd.var("hyper/W2", Nd4j.randn(DataType.FLOAT, hidden, size).muli(0.01)))
                .add(sd.var("hyper/b2", Nd4j.randn(DataType.FLOAT, size).muli(0.05)));
        g.setFromFlat(flat, generated);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-4))
                .dataSetFeatureMapping(input, "task").dataSetLabelMapping(labels).build());
        batch = new MultiDataSet(new INDArray[] {x, task}, new INDArray[] {y});
        feed = Map.of(input, x, "task", task, labels, y);
        trainer = GraphTrainer.builder(sd).loss(loss).updater(new Adam(1e-4)).build();
        Models.quietly(() -> sd.fit(batch));
        trainer.step(feed);
    }

    /** {@code sd.fit} on one batch: one update, no loss reported. */
    @Benchmark
    public Object sdFit() {
        return sd.fit(batch);
    }

    /** The loss by {@code sd.output}, then {@code sd.fit}: one update and its real loss, the old way. */
    @Benchmark
    public double sdOutputThenFit() {
        double value = sd.output(feed, loss).get(loss).getDouble(0);
        sd.fit(batch);
        return value;
    }

    /** {@link GraphTrainer#step}: one update and its real loss. */
    @Benchmark
    public double graphTrainerStep() {
        return trainer.step(feed);
    }
}
