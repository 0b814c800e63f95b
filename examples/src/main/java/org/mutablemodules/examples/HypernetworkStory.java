package org.mutablemodules.examples;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
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
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The original README's hypernetwork: {@code net1} (a 1 -> 2 dense layer) predicts the weight and bias of
 * {@code net2} (a DL4J 1 -> 1 output layer); {@code net2}'s parameters are hot-swapped with the predictions, and
 * {@code net2}'s loss on a linear regression trains {@code net1} alone.
 */
public final class HypernetworkStory {

    /** The loss before and after training, and the weight and bias net1 predicts at the end. */
    public record Result(double lossBefore, double lossAfter, double predictedWeight, double predictedBias) {
    }

    private HypernetworkStory() {
    }

    /**
     * Runs the example and prints what it does.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        run(System.out);
    }

    /**
     * Runs the example, printing to {@code out}.
     *
     * @param out where to print
     * @return the losses and the final predictions
     */
    public static Result run(PrintStream out) {
        // README: hypernetwork
        MultiLayerNetwork net2 = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).list()
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(1).nOut(1).activation(Activation.IDENTITY).build())
                .build());
        net2.init();
        MutableNetwork mutable = MutableNetwork.of(net2);
        SameDiff sd = mutable.graph().sameDiff();

        // net1 = nn.Linear(1, 2), fed a constant 1: its two outputs are net2's weight and bias.
        SDVariable one = sd.constant("net1/input", Nd4j.ones(DataType.FLOAT, 1, 1));
        SDVariable w1 = sd.var("net1/W", Nd4j.createFromArray(new float[][] {{0.1f, -0.2f}}));
        SDVariable b1 = sd.var("net1/b", Nd4j.zeros(DataType.FLOAT, 2));
        SDVariable predicted = one.mmul(w1).add("net1/output", b1);
        mutable.graph().setFromFlat(predicted, "layer0/W", "layer0/b");     // net2.weight, net2.bias = net1(1)

        INDArray x = Nd4j.linspace(-2, 2, 32, DataType.FLOAT).reshape(32, 1);
        INDArray y = x.mul(3).sub(1.5);                                      // y = 3x - 1.5
        GraphTrainer trainer = GraphTrainer.builder(mutable.graph()).loss(mutable.lossName())
                .updater(new Sgd(0.05)).build();                            // trains net1: all net2's loss reads
        double[] losses = trainer.fit(() -> Map.of(mutable.inputName(), x, mutable.labelName(), y), 300);
        double before = losses[0];                                          // each step's loss, before its update
        double after = mutable.score(x, y);
        // README: end
        Map<String, INDArray> now = sd.output(Map.of(), "layer0/W", "layer0/b");
        Result r = new Result(before, after, now.get("layer0/W").getDouble(0), now.get("layer0/b").getDouble(0));
        out.printf(Locale.ROOT, "loss %.5f -> %.7f; net1 predicts weight %.4f and bias %.4f (target 3, -1.5)%n",
                r.lossBefore(), r.lossAfter(), r.predictedWeight(), r.predictedBias());
        out.println("net2's weight is fed by " + mutable.param(0, "W").history());
        return r;
    }
}
