package org.mutablemodules.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Saving the live model and going on after a restart: a hypernetwork that generates a converted MLP's weights is
 * trained for a while, the network (graph, mutable parameters with their histories, the hypernetwork and the trainer's
 * Adam state) is saved and loaded again, and training goes on to exactly the losses it would have reached without
 * the restart.
 */
public final class SaveAndResume {

    /** The losses of the steps after the restart, with and without it, and the parameter history read back. */
    public record Result(double[] resumed, double[] uninterrupted, String history) {
    }

    private SaveAndResume() {
    }

    /**
     * Runs the example.
     *
     * @param args ignored
     * @throws IOException if the temporary file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path dir = Files.createTempDirectory("save-and-resume");
        run(System.out, dir.resolve("run.mmn"));
    }

    /**
     * Runs the example, saving to {@code file}.
     *
     * @param out  where to print
     * @param file where the network is saved
     * @return the losses after the restart, and without it
     */
    public static Result run(PrintStream out, Path file) {
        INDArray x = Nd4j.linspace(-3, 3, 40, DataType.FLOAT).reshape(40, 1);
        INDArray y = Transforms.sin(x);
        MutableNetwork network = hypernetworkFedMlp();
        Map<String, INDArray> feed = Map.of(network.inputName(), x, network.labelName(), y);
        GraphTrainer first = GraphTrainer.builder(network.graph()).loss(network.lossName()).updater(new Adam(1e-2))
                .build();
        first.fit(() -> feed, 100);
        try {
            // README: saving
            network.save(file, first);                 // graph, histories, hypernetwork, the trainer's Adam state
            MutableNetwork again = MutableNetwork.load(file);      // after a restart
            GraphTrainer trainer = GraphTrainer.builder(again.graph()).loss(again.lossName())
                    .updater(new Adam(1e-2)).build();              // takes over the saved trainer's state
            double[] resumed = trainer.fit(() -> feed, 20);
            // README: end
            double[] uninterrupted = first.fit(() -> feed, 20);
            String history = again.param(0, "W").history();
            out.printf("loss after the restart: %.6f (uninterrupted: %.6f)%n", resumed[19], uninterrupted[19]);
            out.println("layer0/W = " + history);
            return new Result(resumed, uninterrupted, history);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A converted MLP 1-16-1 whose first layer's weights a small hypernetwork generates from a constant code. */
    private static MutableNetwork hypernetworkFedMlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(1)).build());
        net.init();
        MutableNetwork m = MutableNetwork.of(net);
        SameDiff sd = m.graph().sameDiff();
        Nd4j.getRandom().setSeed(7);
        SDVariable code = sd.constant("code", Nd4j.ones(DataType.FLOAT, 1, 4));
        SDVariable generated = code.mmul(sd.var("hyper/W", Nd4j.randn(DataType.FLOAT, 4, 32).muli(0.3)));
        m.graph().setFromFlat(generated, m.param(0, "W").name(), m.param(0, "b").name());
        return m;
    }
}
