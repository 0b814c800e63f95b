package org.mutablemodules.dl4j;

import java.util.Map;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * DL4J's {@code SeparableConvolution2D} with one input channel fails or computes something else (libnd4j's sconv2d,
 * fuzz seed 793), so the converted layer is checked against what DL4J computes right: the same weights as a
 * {@code DepthwiseConvolution2D} followed by a 1x1 {@code ConvolutionLayer}, outputs and gradients.
 */
class SeparableOneChannelTest {

    private static final DataType D = DataType.DOUBLE;

    @ParameterizedTest
    @EnumSource(CNN2DFormat.class)
    void equalsDl4jsDepthwiseThenPointwiseConvolution(CNN2DFormat format) {
        int m = 2;
        int nOut = 3;
        MultiLayerNetwork separable = Networks.network(D, InputType.convolutional(6, 5, 1, format),
                new SeparableConvolution2D.Builder(3, 2).depthMultiplier(m).nOut(nOut)
                        .convolutionMode(ConvolutionMode.Strict).activation(Activation.TANH).build(),
                new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
        MultiLayerNetwork composed = Networks.network(D, InputType.convolutional(6, 5, 1, format),
                new DepthwiseConvolution2D.Builder(3, 2).depthMultiplier(m).hasBias(false)
                        .convolutionMode(ConvolutionMode.Strict).activation(Activation.IDENTITY).build(),
                new ConvolutionLayer.Builder(1, 1).nOut(nOut).activation(Activation.TANH).build(),
                new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                new OutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2).build());
        // separable W [m, 1, kH, kW] is the depthwise [kH, kW, 1, m]; pW [nOut, m, 1, 1] the 1x1 convolution's W
        composed.setParam("0_W", separable.getParam("0_W").permute(2, 3, 1, 0).dup());
        composed.setParam("1_W", separable.getParam("0_pW").dup());
        composed.setParam("1_b", separable.getParam("0_b").dup());
        composed.setParam("3_W", separable.getParam("2_W").dup());
        composed.setParam("3_b", separable.getParam("2_b").dup());
        long[] shape = format == CNN2DFormat.NHWC ? new long[] {4, 6, 5, 1} : new long[] {4, 1, 6, 5};
        INDArray x = Networks.randn(D, 1, shape);
        INDArray y = Networks.randn(D, 2, 4, 2);

        MutableNetwork m2 = MutableNetwork.of(separable);
        Checks.assertRelativelyClose(composed.output(x), m2.output(x), 1e-10, "output");
        Map<String, INDArray> mine = m2.gradients(x, y);
        Gradient expected = Networks.dl4jGradient(composed, new INDArray[] {x}, new INDArray[] {y});
        Map<String, INDArray> dl4j = expected.gradientForVariable();
        Checks.assertRelativelyClose(dl4j.get("0_W").permute(3, 2, 0, 1).div(4), mine.get("0_W"), 1e-8, "W");
        Checks.assertRelativelyClose(dl4j.get("1_W").div(4), mine.get("0_pW"), 1e-8, "pW");
        Checks.assertRelativelyClose(dl4j.get("1_b").div(4), mine.get("0_b"), 1e-8, "b");
        Checks.assertRelativelyClose(dl4j.get("3_W").div(4), mine.get("2_W"), 1e-8, "output W");
    }
}
