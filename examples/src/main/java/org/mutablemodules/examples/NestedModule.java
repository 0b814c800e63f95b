package org.mutablemodules.examples;

import java.io.PrintStream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The original example.py's second test: a custom module holding two 1x1 convolutions, converted recursively, whose
 * first convolution's weight is multiplied by 0 and increased by 420. Here the second convolution sits inside a
 * wrapper layer ({@code FrozenLayerWithBackprop}), which the conversion walks into as well.
 */
public final class NestedModule {

    /** The first convolution's weight after the mutation, and the second's (reached through its wrapper). */
    public record Result(double firstWeight, double secondWeight, INDArray output) {
    }

    private NestedModule() {
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
     * @return the weights read back and the output for a 1x1 image of value 1
     */
    public static Result run(PrintStream out) {
        // README: nested
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).list()
                .layer(new ConvolutionLayer.Builder(1, 1).nOut(1).activation(Activation.IDENTITY).build())
                .layer(new FrozenLayerWithBackprop(new ConvolutionLayer.Builder(1, 1).nIn(1).nOut(1)
                        .activation(Activation.IDENTITY).build()))
                .setInputType(InputType.convolutional(1, 1, 1))
                .build());
        net.init();                                          // convs = nn.ModuleList([Conv2d(1, 1, 1), Conv2d(1, 1, 1)])

        MutableNetwork mutable = MutableNetwork.of(net);     // every layer, wrappers included
        MutableParameter first = mutable.param(0, "W");
        first.muli(0).addi(420);                             // convs[0].weight *= 0; convs[0].weight += 420
        out.println("convs[0].weight = " + first.value().eval().getDouble(0));     // 420.0
        out.println("convs[1].weight = " + mutable.param(1, "W").value().eval().getDouble(0));
        INDArray y = mutable.output(Nd4j.ones(DataType.FLOAT, 1, 1, 1, 1));
        out.println("net(1) = " + y.getDouble(0));
        // README: end
        return new Result(first.value().eval().getDouble(0), mutable.param(1, "W").value().eval().getDouble(0), y);
    }
}
