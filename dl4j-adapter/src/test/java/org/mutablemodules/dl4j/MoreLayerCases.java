package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.dropout.AlphaDropout;
import org.deeplearning4j.nn.conf.dropout.GaussianDropout;
import org.deeplearning4j.nn.conf.dropout.GaussianNoise;
import org.deeplearning4j.nn.conf.dropout.SpatialDropout;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.mutablemodules.dl4j.Networks.Case;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Cases of {@link LayerParityTest}: local response normalisation, PReLU, GravesLSTM, the per-pixel, per-time-step,
 * centre-loss and YOLO output layers, and dropout variants. Each parameterless layer follows a layer with
 * parameters, so that gradients flow through it.
 */
final class MoreLayerCases {

    private static final int N = 4;
    private static final int T = 4;

    private MoreLayerCases() {
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.addAll(localResponseNormalization());
        cases.addAll(prelu());
        cases.addAll(gravesLstm());
        cases.addAll(lossLayers());
        cases.addAll(dropout());
        return cases;
    }

    private static OutputLayer output(LossFunction loss, Activation act, int nOut) {
        return new OutputLayer.Builder(loss).activation(act).nOut(nOut).build();
    }

    private static ConvolutionLayer conv(int nOut, CNN2DFormat format) {
        return new ConvolutionLayer.Builder(2, 2).nOut(nOut).activation(Activation.TANH).dataFormat(format).build();
    }

    private static List<Case> localResponseNormalization() {
        List<Case> cases = new ArrayList<>();
        // alpha and k far from DL4J's defaults (alpha 1e-4), so that a wrong window or exponent shows.
        cases.add(new Case("LRN NCHW (n=3, k=1, alpha=0.5, beta=0.75)",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2),
                        conv(5, CNN2DFormat.NCHW),
                        new LocalResponseNormalization.Builder(1.0, 3, 0.5, 0.75).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("LRN NHWC (n=4, k=2, alpha=0.3, beta=0.5)",
                type -> Networks.network(type, InputType.convolutional(5, 5, 2, CNN2DFormat.NHWC),
                        conv(6, CNN2DFormat.NHWC),
                        new LocalResponseNormalization.Builder(2.0, 4, 0.3, 0.5).dataFormat(CNN2DFormat.NHWC).build(),
                        output(LossFunction.MCXENT, Activation.SOFTMAX, 3)),
                type -> Networks.randn(type, 1, N, 5, 5, 2), type -> Networks.oneHot(type, 2, N, 3), true, false)
                .withInexactDl4jGradient());
        cases.add(new Case("LRN with a window wider than the channels (n=5 over 3 channels), DL4J's defaults",
                type -> Networks.network(type, InputType.convolutional(4, 4, 2),
                        conv(3, CNN2DFormat.NCHW),
                        new LocalResponseNormalization.Builder().k(0.5).alpha(0.8).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)),
                type -> Networks.randn(type, 1, N, 2, 4, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .withInexactDl4jGradient());
        return cases;
    }

    private static List<Case> prelu() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("PReLU on dense activations",
                type -> withRandom(Networks.network(type, InputType.feedForward(3),
                        new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build(),
                        new PReLULayer.Builder().inputShape(5).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)), "1_W", 0.25),
                type -> Networks.randn(type, 1, N, 3), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("PReLU on NCHW conv activations, alpha shared over height and width",
                type -> withRandom(Networks.network(type, InputType.convolutional(5, 5, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY).build(),
                        new PReLULayer.Builder().inputShape(3, 4, 4).sharedAxes(2, 3).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)), "1_W", 0.25),
                type -> Networks.randn(type, 1, N, 2, 5, 5), type -> Networks.randn(type, 2, N, 2), true, false));
        cases.add(new Case("PReLU on NHWC conv activations, one alpha per pixel and channel",
                type -> withRandom(Networks.network(type, InputType.convolutional(4, 4, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new PReLULayer.Builder().inputShape(3, 3, 2).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)), "1_W", 0.25),
                type -> Networks.randn(type, 1, N, 4, 4, 2), type -> Networks.randn(type, 2, N, 2), true, false));
        return cases;
    }

    @SuppressWarnings("deprecation")    // GravesLSTM, deprecated by DL4J, still to be converted
    private static List<Case> gravesLstm() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("GravesLSTM (peepholes), RNN output softmax MCXENT",
                type -> Networks.network(type, InputType.recurrent(3),
                        new GravesLSTM.Builder().nOut(4).activation(Activation.TANH).build(),
                        new RnnOutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(3).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false));
        cases.add(new Case("GravesLSTM NWC (softsign, hard sigmoid gates), RNN output MSE",
                type -> Networks.network(type, InputType.recurrent(3, RNNFormat.NWC),
                        new GravesLSTM.Builder().nOut(3).activation(Activation.SOFTSIGN)
                                .gateActivationFunction(Activation.HARDSIGMOID).dataFormat(RNNFormat.NWC).build(),
                        new RnnOutputLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).nOut(2)
                                .dataFormat(RNNFormat.NWC).build()),
                type -> Networks.randn(type, 1, N, T, 3), type -> Networks.randn(type, 2, N, T, 2), true, false));
        return cases;
    }

    @SuppressWarnings("deprecation")    // GravesLSTM, deprecated by DL4J, still to be converted
    private static List<Case> lossLayers() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("CNN loss layer NCHW, softmax MCXENT per pixel",
                type -> Networks.network(type, InputType.convolutional(4, 4, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY).build(),
                        new CnnLossLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).build()),
                type -> Networks.randn(type, 1, N, 2, 4, 4), type -> oneHotImages(type, 2, 3, 3), true, false));
        cases.add(new Case("CNN loss layer NCHW, MSE",
                type -> Networks.network(type, InputType.convolutional(4, 4, 2),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build(),
                        new CnnLossLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).build()),
                type -> Networks.randn(type, 1, N, 2, 4, 4), type -> Networks.randn(type, 2, N, 3, 3, 3), true, false));
        // DL4J 1.0.0-M2.1 reports the score of an NHWC CnnLossLayer from the NCHW reshape of its NHWC arrays (its
        // gradient uses the right one): equal to the true score only for element-wise losses such as this one.
        cases.add(new Case("CNN loss layer NHWC, sigmoid XENT per pixel",
                type -> Networks.network(type, InputType.convolutional(4, 4, 2, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new CnnLossLayer.Builder(LossFunction.XENT).activation(Activation.SIGMOID)
                                .format(CNN2DFormat.NHWC).build()),
                type -> Networks.randn(type, 1, N, 4, 4, 2), type -> Networks.probabilities(type, 2, N, 3, 3, 3),
                true, false));
        cases.add(new Case("RNN loss layer NCW, softmax MCXENT per time step",
                type -> Networks.network(type, InputType.recurrent(3),
                        new LSTM.Builder().nOut(3).activation(Activation.TANH).build(),
                        new RnnLossLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.oneHotSeries(type, 2, N, 3, T), true, false));
        cases.add(new Case("RNN loss layer NCW, MSE after a GravesLSTM",
                type -> Networks.network(type, InputType.recurrent(3),
                        new GravesLSTM.Builder().nOut(2).activation(Activation.TANH).build(),
                        new RnnLossLayer.Builder(LossFunction.MSE).activation(Activation.IDENTITY).build()),
                type -> Networks.randn(type, 1, N, 3, T), type -> Networks.randn(type, 2, N, 2, T), true, false));
        cases.add(new Case("centre loss output layer (softmax MCXENT, lambda 0.4)",
                type -> withRandom(Networks.network(type, InputType.feedForward(3),
                        new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(),
                        new CenterLossOutputLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX)
                                .nOut(3).lambda(0.4).alpha(0.1).build()), "1_cL", 0.0),
                type -> Networks.randn(type, 1, N, 3), type -> Networks.oneHot(type, 2, N, 3), true, false));
        // Found by ConversionFuzzTest: DL4J clips probabilities to [eps, 1 - eps] before their log. Inputs scaled so
        // that most sigmoids are exactly 0 or 1 in DOUBLE (unclipped, the score is infinite); there the gradient is
        // 0 both ways, so the finite-difference contract still holds.
        cases.add(new Case("sigmoid XENT on saturated outputs (probabilities clipped as DL4J clips them)",
                type -> Networks.network(type, InputType.feedForward(3),
                        new DenseLayer.Builder().nOut(4).activation(Activation.IDENTITY).build(),
                        output(LossFunction.XENT, Activation.SIGMOID, 3)),
                type -> Networks.randn(type, 1, N, 3).muli(200), type -> Networks.probabilities(type, 2, N, 3),
                true, false));
        cases.add(new Case("YOLO2 output and loss (2 boxes, 2 classes)",
                type -> Networks.network(type, InputType.convolutional(4, 4, 1),
                        new ConvolutionLayer.Builder(2, 2).nOut(2 * (5 + 2)).activation(Activation.IDENTITY).build(),
                        new Yolo2OutputLayer.Builder().boundingBoxPriors(priors(type)).build()),
                type -> Networks.randn(type, 1, N, 1, 4, 4), type -> Networks.yoloLabels(type, 2, N, 2, 3, false), true, false));
        cases.add(new Case("YOLO2 NHWC (2 boxes, 1 class, lambdaCoord 2, lambdaNoObj 0.3)",
                type -> Networks.network(type, InputType.convolutional(4, 4, 1, CNN2DFormat.NHWC),
                        new ConvolutionLayer.Builder(2, 2).nOut(2 * (5 + 1)).activation(Activation.IDENTITY)
                                .dataFormat(CNN2DFormat.NHWC).build(),
                        new Yolo2OutputLayer.Builder().boundingBoxPriors(priors(type)).lambdaCoord(2.0)
                                .lambdaNoObj(0.3).build()),
                type -> Networks.randn(type, 1, N, 4, 4, 1), type -> Networks.yoloLabels(type, 3, N, 1, 3, true), true, false));
        return cases;
    }

    private static List<Case> dropout() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("dropout variants at inference: Gaussian dropout layer, alpha dropout, Gaussian noise",
                type -> Networks.network(type, InputType.feedForward(4),
                        new DenseLayer.Builder().nOut(5).activation(Activation.TANH).dropOut(new AlphaDropout(0.8)).build(),
                        new DropoutLayer.Builder().dropOut(new GaussianDropout(0.4)).build(),
                        new DenseLayer.Builder().nOut(4).activation(Activation.TANH).dropOut(new GaussianNoise(0.3)).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)),
                type -> Networks.randn(type, 1, N, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .trainingDiffersFromInference());
        cases.add(new Case("spatial dropout on conv activations at inference",
                type -> Networks.network(type, InputType.convolutional(4, 4, 2),
                        conv(3, CNN2DFormat.NCHW),
                        new DropoutLayer.Builder().dropOut(new SpatialDropout(0.5)).build(),
                        new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH)
                                .dropOut(new SpatialDropout(0.7)).build(),
                        output(LossFunction.MSE, Activation.IDENTITY, 2)),
                type -> Networks.randn(type, 1, N, 2, 4, 4), type -> Networks.randn(type, 2, N, 2), true, false)
                .trainingDiffersFromInference());
        return cases;
    }

    /** Two box priors (width, height in grid units), [2, 2]. */
    private static INDArray priors(DataType type) {
        return Nd4j.createFromArray(new double[][] {{1.0, 1.5}, {2.0, 0.8}}).castTo(type);
    }

    /** Per-pixel one-hot labels over {@code classes} channels, [N, classes, size, size]. */
    private static INDArray oneHotImages(DataType type, long seed, int classes, int size) {
        Random r = new Random(seed);
        INDArray out = Nd4j.zeros(type, N, classes, size, size);
        for (int i = 0; i < N; i++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    out.putScalar(new long[] {i, r.nextInt(classes), y, x}, 1.0);
                }
            }
        }
        return out;
    }

    /** {@code net} with parameter {@code key} set to {@code offset + 0.3 * randn} (DL4J initialises some to 0). */
    private static MultiLayerNetwork withRandom(MultiLayerNetwork net, String key, double offset) {
        INDArray value = net.getParam(key);
        value.assign(Networks.randn(value.dataType(), key.hashCode(), value.shape()).muli(0.3).addi(offset));
        return net;
    }
}
