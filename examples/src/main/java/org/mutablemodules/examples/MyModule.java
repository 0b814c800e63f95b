package org.mutablemodules.examples;

import java.io.PrintStream;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.MutableParameter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The original README's {@code @mutable_module class MyModule}: a module of the user's own, holding its own
 * parameters, made mutable with the network it sits in. In DL4J a layer of one's own is a {@link SameDiffLayer}
 * subclass that defines its computation in SameDiff; the conversion calls its {@code defineLayer} on the converted
 * graph, so its parameters are mutable like any layer's: here its weight is set in place and its scale is fed from a
 * variable upstream, which gets the gradient of the loss through the layer.
 */
public final class MyModule {

    /**
     * What the example computed.
     *
     * @param weight   the layer's weight after {@code *= 0; += 2}
     * @param history  the weight's history
     * @param mutable  the converted network
     * @param x        the inputs used
     * @param y        the labels used
     * @param gradient the gradient of the loss with respect to the variable "gain" that scales the layer's output
     */
    public record Result(double weight, String history, MutableNetwork mutable, INDArray x, INDArray y,
                         double gradient) {
    }

    private MyModule() {
    }

    /**
     * Runs the example and prints what it does.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        run(System.out);
    }

    // README: mymodule
    /** A layer of your own, {@code tanh(x W + b) * s}, with its own parameters W [nIn, nOut], b and s [1, nOut]. */
    public static final class ScaledDense extends SameDiffLayer {
        /** Input width. */
        private long nIn;
        /** Output width. */
        private long nOut;

        private ScaledDense() {                         // DL4J reads configurations back through this
        }

        /**
         * A layer of {@code nIn} inputs and {@code nOut} outputs.
         *
         * @param nIn the input width
         * @param nOut the output width
         */
        public ScaledDense(long nIn, long nOut) {
            this.nIn = nIn;
            this.nOut = nOut;
        }

        @Override
        public void defineParameters(SDLayerParams params) {
            params.addWeightParam("W", nIn, nOut);
            params.addBiasParam("b", 1, nOut);
            params.addBiasParam("s", 1, nOut);
        }

        @Override
        public void initializeParameters(Map<String, INDArray> params) {
            params.get("W").assign(Nd4j.randn(params.get("W").dataType(), nIn, nOut).divi(Math.sqrt(nIn)));
            params.get("b").assign(0.1);
            params.get("s").assign(1.5);
        }

        @Override
        public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> params, SDVariable mask) {
            return sd.math().tanh(x.mmul(params.get("W")).add(params.get("b"))).mul(params.get("s"));
        }

        @Override
        public InputType getOutputType(int layerIndex, InputType inputType) {
            return InputType.feedForward(nOut);
        }
    }

    /**
     * Converts a network holding your layer, sets the layer's weight and feeds its scale from upstream.
     *
     * @param out where to print what the example shows
     * @return what the example computed, for its test
     */
    public static Result run(PrintStream out) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(0)
                .dataType(DataType.FLOAT).list()
                .layer(new ScaledDense(1, 1))                                       // net = MyModule()
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(1).nOut(1).activation(Activation.IDENTITY)
                        .weightInit(WeightInit.ONES).build())                // fixed weights: the same result
                .build());                                                  // at every run
        net.init();

        // @mutable_module: your own layer converts too (the input type says what size of input it reads)
        MutableNetwork mutable = MutableNetwork.of(net, InputType.feedForward(1));
        MutableParameter weight = mutable.param(0, "W");    // your layer's parameters, keyed as DL4J keys them
        weight.muli(0).addi(2);                             // net.weight *= 0; net.weight += 2
        out.println("weight = " + weight.value().eval().getDouble(0));     // 2.0
        out.println("grad_fn = " + weight.history());                       // add(mul(layer0/W:init, 0.0), 2.0)

        SameDiff sd = mutable.graph().sameDiff();
        SDVariable gain = sd.var("gain", Nd4j.ones(DataType.FLOAT, 1, 1));
        mutable.param(0, "s").muli(gain);                   // the layer's scale, now also fed from upstream
        INDArray x = Nd4j.linspace(-1, 1, 8, DataType.FLOAT).reshape(8, 1);
        INDArray y = x.mul(2);
        Quiet.run(sd::createGradFunction);                  // ND4J prints a line per op here
        INDArray dGain = sd.calculateGradients(Map.of("input", x, "labels", y), "gain").get("gain");
        out.println("d loss / d gain = " + dGain.getDouble(0));   // the loss's gradient, through your layer
        return new Result(weight.value().eval().getDouble(0), weight.history(), mutable, x, y, dGain.getDouble(0));
    }
    // README: end
}
