package org.mutablemodules.examples;

import java.io.PrintStream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The original example.py's first test: {@code weight.fill_(420)}, then the bias replaced by {@code ones * 0.69};
 * the layer outputs 420.69 for input 1.
 */
public final class AssignmentAndFill {

    private AssignmentAndFill() {
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
     * @return the layer's output for input 1
     */
    public static double run(PrintStream out) {
        // README: assignment
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(1).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        MutableNetwork mutable = MutableNetwork.of(net);
        SameDiff sd = mutable.graph().sameDiff();

        mutable.param(0, "W").fill(420);                              // net.weight.fill_(420)
        SDVariable ones = sd.constant(Nd4j.ones(DataType.FLOAT, 1));
        mutable.param(0, "b").set(ones.mul(0.69));                    // net.bias = torch.ones(1) * 0.69

        double y = mutable.output(Nd4j.ones(DataType.FLOAT, 1, 1)).getDouble(0);
        out.println("net(1) = " + y);                                 // 420.69
        out.println("bias = " + mutable.param(0, "b").history());     // mul(ones, 0.69)'s variable
        // README: end
        return y;
    }
}
