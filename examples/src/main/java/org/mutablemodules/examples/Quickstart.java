package org.mutablemodules.examples;

import java.io.PrintStream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The original README's usage: a 1x1 dense layer made mutable, its weight multiplied by 0 and then increased by 69,
 * in place and differentiably.
 */
public final class Quickstart {

    /** The weight read after the mutation, its history, and the layer's output for input 2. */
    public record Result(double weight, String history, double bias, double outputForTwo) {
    }

    private Quickstart() {
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
     * @return what the example read back
     */
    public static Result run(PrintStream out) {
        // README: quickstart
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(1).activation(Activation.IDENTITY).build())
                .build());
        net.init();                                        // net = nn.Linear(1, 1)

        MutableNetwork mutable = MutableNetwork.of(net);   // to_mutable_module(net)
        MutableParameter weight = mutable.param(0, "W");
        weight.muli(0);                                    // net.weight *= 0
        weight.addi(69);                                   // net.weight += 69

        out.println("weight = " + weight.value().eval());  // 69
        out.println("grad_fn = " + weight.history());      // add(mul(layer0/W:init, 0.0), 69.0)
        INDArray y = mutable.output(Nd4j.createFromArray(new float[][] {{2f}}));
        out.println("net(2) = " + y);                      // 69 * 2 + bias
        // README: end
        return new Result(weight.value().eval().getDouble(0), weight.history(),
                mutable.param(0, "b").value().eval().getDouble(0), y.getDouble(0));
    }
}
