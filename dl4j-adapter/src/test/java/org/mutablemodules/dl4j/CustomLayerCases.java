package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.mutablemodules.dl4j.CustomLayers.MaskReading;
import org.mutablemodules.dl4j.CustomLayers.MaskReadingVertex;
import org.mutablemodules.dl4j.CustomLayers.MseOutput;
import org.mutablemodules.dl4j.CustomLayers.NamingDense;
import org.mutablemodules.dl4j.CustomLayers.ProductPlus;
import org.mutablemodules.dl4j.CustomLayers.ScaledDense;
import org.mutablemodules.dl4j.CustomLayers.Swish;
import org.mutablemodules.dl4j.CustomLayers.WeightedMix;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * {@link LayerParityTest} cases of layers and vertices users write in SameDiff ({@link CustomLayers}): in
 * {@code MultiLayerNetwork}s and {@code ComputationGraph}s, beside DL4J's own layers, inside wrappers. A DL4J layer
 * reads the network's input (a SameDiff layer does not tell the input's shape), and the finite-difference contract
 * feeds one of the custom layer's parameters from upstream wherever it has one.
 *
 * <p>DL4J 1.0.0-M2.1 backpropagates twice the gradient through a {@code SameDiffLayer} or {@code SameDiffVertex}
 * (its parameters' gradients and everything upstream; {@link CustomLayerTest} shows it against DL4J's own score), so
 * the cases holding one compare outputs and scores with DL4J and check gradients by finite differences
 * ({@code withInexactDl4jGradient}). A {@code SameDiffOutputLayer} after DL4J layers is compared with DL4J's
 * gradients too.
 */
final class CustomLayerCases {

    private static final int N = 5;

    private CustomLayerCases() {
    }

    private static DenseLayer dense(int nOut, Activation act) {
        return new DenseLayer.Builder().nOut(nOut).activation(act).build();
    }

    private static OutputLayer mse(int nOut) {
        return new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(nOut).build();
    }

    private static INDArray[] arrays(INDArray... a) {
        return a;
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("custom SameDiffLayer tanh(x W + b) * s between dense and output layers",
                type -> Networks.network(type, InputType.feedForward(4), dense(5, Activation.TANH),
                        new ScaledDense(5, 6), mse(2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().feedingUpstream("1_W"));
        cases.add(new Case("custom SameDiffLayer twice, each naming its own variable and constant alike",
                type -> Networks.network(type, InputType.feedForward(4), dense(5, Activation.IDENTITY),
                        new NamingDense(5, 4), new NamingDense(4, 3), mse(2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().feedingUpstream("2_W"));
        cases.add(new Case("custom SameDiffLambdaLayer between dense layers",
                type -> Networks.network(type, InputType.feedForward(4), dense(6, Activation.IDENTITY), new Swish(),
                        mse(2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("custom SameDiffLambdaLayer on convolution activations, global pooling",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY).build(),
                        new Swish(), new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), mse(2)),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("custom SameDiffOutputLayer with its own loss after a dense layer",
                type -> Networks.network(type, InputType.feedForward(4), dense(5, Activation.SIGMOID),
                        new MseOutput(5, 3)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 3), true, false)
                .feedingUpstream("1_W"));
        cases.add(new Case("custom SameDiffLayer, then a custom SameDiffOutputLayer",
                type -> Networks.network(type, InputType.feedForward(4), dense(6, Activation.SIGMOID),
                        new ScaledDense(6, 5), new MseOutput(5, 2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().feedingUpstream("1_s"));
        cases.add(new Case("custom layers inside FrozenLayerWithBackprop and FrozenLayer",
                type -> Networks.network(type, InputType.feedForward(4), dense(5, Activation.TANH),
                        new FrozenLayerWithBackprop(new ScaledDense(5, 4)), new FrozenLayer(new Swish()),
                        dense(3, Activation.TANH), mse(2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient().feedingUpstream("1_W").withGradientStoppedAt("0_W", "0_b"));
        cases.add(Case.graph("custom SameDiffVertex mixing two branches with its own parameter",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(4))
                        .addLayer("da", dense(4, Activation.TANH), "a")
                        .addLayer("db", dense(4, Activation.IDENTITY), "b")
                        .addVertex("mix", new WeightedMix(4), "da", "db")
                        .addLayer("out", mse(2), "mix")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 4)),
                type -> arrays(Networks.randn(type, 3, N, 2)))
                .withInexactDl4jGradient().feedingUpstream("mix_alpha"));
        cases.add(Case.graph("custom SameDiffLambdaVertex of two dense branches",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(4))
                        .addLayer("d1", dense(5, Activation.TANH), "in")
                        .addLayer("d2", dense(5, Activation.SIGMOID), "in")
                        .addVertex("product", new ProductPlus(), "d1", "d2")
                        .addLayer("out", mse(2), "product")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 4)), type -> arrays(Networks.randn(type, 2, N, 2)))
                .withInexactDl4jGradient());
        cases.add(Case.graph("custom SameDiffLayer and SameDiffOutputLayer as graph vertices",
                type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.feedForward(4))
                        .addLayer("d", dense(3, Activation.TANH), "in")
                        .addLayer("scaled", new ScaledDense(3, 5), "d")
                        .addLayer("out", new MseOutput(5, 2), "scaled")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 4)), type -> arrays(Networks.randn(type, 2, N, 2)))
                .withInexactDl4jGradient().feedingUpstream("scaled_b"));
        cases.add(Case.graph("FrozenVertex around a custom SameDiffVertex",
                type -> Networks.graph(type, b -> b.addInputs("a", "b")
                        .setInputTypes(InputType.feedForward(3), InputType.feedForward(3))
                        // DL4J backpropagates nothing through a frozen vertex: what comes before is frozen too.
                        .addLayer("da", new FrozenLayer(new DenseLayer.Builder().nIn(3).nOut(3)
                                .activation(Activation.TANH).build()), "a")
                        .addLayer("db", new FrozenLayer(new DenseLayer.Builder().nIn(3).nOut(3)
                                .activation(Activation.TANH).build()), "b")
                        .addVertex("mix", new FrozenVertex(new WeightedMix(3)), "da", "db")
                        .addLayer("out", mse(2), "mix")
                        .setOutputs("out")),
                type -> arrays(Networks.randn(type, 1, N, 3), Networks.randn(type, 2, N, 3)),
                type -> arrays(Networks.randn(type, 3, N, 2)))
                .withInexactDl4jGradient().feedingUpstream("mix_alpha"));
        cases.addAll(maskReadingCases());
        return cases;
    }

    /**
     * A user's layer or vertex that reads the mask it is given, in networks whose data have none: DL4J gives ones of
     * the input's kind, so the conversion must too (the output counts the mask's values).
     */
    private static List<Case> maskReadingCases() {
        RnnOutputLayer seriesOutput = new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY)
                .nOut(2).build();
        LSTM lstm = new LSTM.Builder().nOut(4).activation(Activation.TANH).build();
        return List.of(
                new Case("custom SameDiffLayer reading its mask of ones [N, 1] on rows",
                        type -> Networks.network(type, InputType.feedForward(4), dense(5, Activation.TANH),
                                new MaskReading(false), mse(2)),
                        type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                        .withInexactDl4jGradient().feedingUpstream("1_w"),
                new Case("custom SameDiffLayer reading its mask of ones [N, T] on a series",
                        type -> Networks.network(type, InputType.recurrent(3, 6), lstm.clone(), new MaskReading(true),
                                seriesOutput.clone()),
                        type -> Networks.randn(type, 1, N, 3, 6), type -> Networks.randn(type, 2, N, 2, 6), true,
                        false).withInexactDl4jGradient(),
                new Case("custom SameDiffLayer reading its mask of ones [N, 1, 1, 1] on images",
                        type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                                new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY).build(),
                                new MaskReading(false), new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                                mse(2)),
                        type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true,
                        false).withInexactDl4jGradient(),
                Case.graph("custom SameDiffVertex reading its masks of ones [N, T] on a series",
                        type -> Networks.graph(type, b -> b.addInputs("in").setInputTypes(InputType.recurrent(3, 6))
                                .addLayer("lstm", lstm.clone(), "in")
                                .addVertex("reading", new MaskReadingVertex(true), "lstm")
                                .addLayer("out", seriesOutput.clone(), "reading")
                                .setOutputs("out")),
                        type -> arrays(Networks.randn(type, 1, N, 3, 6)),
                        type -> arrays(Networks.randn(type, 2, N, 2, 6)))
                        .withInexactDl4jGradient().feedingUpstream("reading_w"));
    }
}
