package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.AttentionVertex;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.L2NormalizeVertex;
import org.deeplearning4j.nn.conf.graph.L2Vertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PoolHelperVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.StackVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.graph.UnstackVertex;
import org.deeplearning4j.nn.conf.graph.rnn.DuplicateToTimeSeriesVertex;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.graph.rnn.ReverseTimeSeriesVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.AutoEncoder;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.CapsuleLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleStrengthLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.LocallyConnected2D;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.PrimaryCapsules;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.misc.RepeatVector;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * A seeded generator of random DL4J networks for the conversion fuzzer ({@code ConversionFuzzTest}): from a seed, a
 * {@code MultiLayerNetwork} (feed-forward, CNN in NCHW or NHWC, recurrent in NCW or NWC, 1D convolutions,
 * embeddings) or a {@code ComputationGraph} (merges, element-wise vertices, skip connections, several inputs and
 * outputs), in DOUBLE, with random layer types, sizes, activations, losses matched to output activations, wrappers,
 * data formats, and now and then a layer, option, activation or loss the adapter refuses. Each network comes with
 * inputs, labels and DL4J's own output; a configuration DL4J itself refuses (at build, init or inference) is reported
 * as {@link InvalidForDl4j}.
 */
final class RandomNetworks {

    /** Examples per minibatch. */
    static final int N = 3;

    private static final Activation[] HIDDEN = {Activation.IDENTITY, Activation.RELU, Activation.RELU6,
        Activation.LEAKYRELU, Activation.ELU, Activation.SELU, Activation.SIGMOID, Activation.HARDSIGMOID,
        Activation.TANH, Activation.HARDTANH, Activation.SOFTPLUS, Activation.SOFTSIGN, Activation.CUBE,
        Activation.SWISH, Activation.SOFTMAX};
    private static final Activation[] REFUSED_ACTIVATIONS = {Activation.RATIONALTANH, Activation.RECTIFIEDTANH,
        Activation.THRESHOLDEDRELU, Activation.GELU, Activation.MISH};
    private static final Activation[] LSTM_ACTIVATIONS = {Activation.TANH, Activation.SIGMOID,
        Activation.HARDSIGMOID, Activation.SOFTSIGN, Activation.SOFTPLUS, Activation.RELU};
    private static final LossFunction[] REFUSED_LOSSES = {LossFunction.HINGE, LossFunction.SQUARED_HINGE,
        LossFunction.COSINE_PROXIMITY, LossFunction.POISSON, LossFunction.MEAN_SQUARED_LOGARITHMIC_ERROR,
        LossFunction.MEAN_ABSOLUTE_PERCENTAGE_ERROR, LossFunction.WASSERSTEIN, LossFunction.KL_DIVERGENCE};

    /** DL4J refused the generated configuration (at build, init or inference): not a conversion case. */
    static final class InvalidForDl4j extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidForDl4j(String description, Throwable cause) {
            super(description + ": " + cause, cause);
        }
    }

    /**
     * A generated network, initialised, with random (non-zero) parameters.
     *
     * @param description    the layers and vertices in short, for test names and failure messages
     * @param sequenceLength the number of time steps of recurrent inputs, or -1
     * @param inputTypes     the network's input types, in input order
     * @param dl4jOutputs    DL4J's inference outputs for {@code inputs}
     * @param indexInput     true when the input holds embedding indices (shaped [N, T], not as its input type)
     */
    record Generated(long seed, String description, Model net, INDArray[] inputs, INDArray[] labels,
                     int sequenceLength, InputType[] inputTypes, INDArray[] dl4jOutputs, boolean indexInput) {
    }

    private final Random r;
    /** Draws the training settings, apart from {@link #r}, so the structures drawn stay those of earlier versions. */
    private final Random training;
    private final boolean mixRefused;
    private final int steps;
    /**
     * Draws DL4J's SameDiff-based layers and vertex (attention, locally connected, capsules) in place of a layer drawn
     * from {@code r}, from a stream of their own: the networks of other seeds stay as they were.
     */
    private final Random sameDiffBased;
    /**
     * Draws a {@code MaskZeroLayer} around the first recurrent layer and the padding of the data it masks, from a
     * stream of its own, as {@link #sameDiffBased}.
     */
    private final Random padding;
    /** The masking value of a {@code MaskZeroLayer} reading the network's input (the data are padded with it). */
    private double maskingValue = Double.NaN;
    private final List<String> parts = new ArrayList<>();

    private RandomNetworks(long seed) {
        this.r = new Random(seed * 0x9E3779B97F4A7C15L + 17);
        this.sameDiffBased = new Random(seed * 0x2545F4914F6CDD1DL + 3);
        this.padding = new Random(seed * 0x5DEECE66DL + 11);
        this.training = new Random(seed * 31 + 7);
        this.mixRefused = r.nextDouble() < 0.3;
        this.steps = 2 + r.nextInt(4);
    }

    /** The network of {@code seed}. */
    static Generated generate(long seed) throws InvalidForDl4j {
        RandomNetworks g = new RandomNetworks(seed);
        boolean graph = g.r.nextDouble() < 0.35;
        String family = graph ? g.pick("graph-ff", "graph-cnn", "graph-rnn")
                : g.pick("ff", "ff", "cnn", "cnn", "rnn", "rnn", "conv1d", "embedding", "embedding-sequence");
        g.parts.add(family + (g.mixRefused ? " (refusals mixed in)" : ""));
        try {
            return graph ? g.graph(seed, family) : g.multiLayer(seed, family);
        } catch (RuntimeException | AssertionError e) {
            // a DL4J failure can leave its workspaces open, which would fail every later network in this thread
            Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
            throw new InvalidForDl4j(String.join(" > ", g.parts), e);
        }
    }

    // ---------------------------------------------------------------- MultiLayerNetworks

    private Generated multiLayer(long seed, String family) {
        List<Layer> layers = new ArrayList<>();
        InputType input;
        InputType t;
        boolean indices = false;
        long vocabulary = 0;
        switch (family) {
            case "ff":
                input = InputType.feedForward(2 + r.nextInt(5));
                break;
            case "cnn":
                input = r.nextDouble() < 0.15 ? InputType.convolutionalFlat(4 + r.nextInt(5), 4 + r.nextInt(5), 1 + r.nextInt(3))
                        : InputType.convolutional(4 + r.nextInt(6), 4 + r.nextInt(6), 1 + r.nextInt(3),
                        r.nextBoolean() ? CNN2DFormat.NCHW : CNN2DFormat.NHWC);
                break;
            case "rnn":
            case "conv1d":
                input = InputType.recurrent(2 + r.nextInt(4), steps, r.nextBoolean() ? RNNFormat.NCW : RNNFormat.NWC);
                break;
            case "embedding":
                vocabulary = 3 + r.nextInt(6);
                indices = true;
                input = InputType.feedForward(1);
                layers.add(note(new EmbeddingLayer.Builder().nIn(vocabulary).nOut(2 + r.nextInt(4)).hasBias(r.nextBoolean())
                        .activation(hidden()).build()));
                break;
            default:
                vocabulary = 3 + r.nextInt(6);
                indices = true;
                input = InputType.recurrent(1, steps);
                layers.add(note(new EmbeddingSequenceLayer.Builder().nIn(vocabulary).nOut(2 + r.nextInt(4))
                        .inputLength(steps).hasBias(r.nextBoolean())
                        .outputDataFormat(r.nextBoolean() ? RNNFormat.NCW : RNNFormat.NWC)
                        .activation(hidden()).build()));
                break;
        }
        t = input;
        for (Layer l : layers) {
            t = advance(l, t);
        }
        int hidden = 1 + r.nextInt(4);
        for (int i = 0; i < hidden; i++) {
            Layer l = randomLayer(t, family.equals("conv1d"));
            if (l == null) {
                break;
            }
            if (i == 0 && family.equals("rnn")) {
                l = maskingZeros(l);
            }
            t = advance(l, t);
            layers.add(l);
        }
        layers.addAll(head(t));
        NeuralNetConfiguration.ListBuilder b = defaults().list();
        for (Layer l : layers) {
            b.layer(l);
        }
        b.setInputType(input);
        if (indices) {
            b.overrideNinUponBuild(false);      // the input type [1] would override the embedding's vocabulary
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        randomiseParameters(net.paramTable(), seed);
        INDArray x = indices ? indices(seed, vocabulary, input) : data(seed, input);
        if (!Double.isNaN(maskingValue)) {
            pad(x, (InputType.InputTypeRecurrent) input);
        }
        INDArray[] inputs = {x};
        // DL4J's ActivationLayer applies its activation in place, to the caller's array when it reads the input
        INDArray[] out = {net.output(x.dup(), false)};
        return finish(seed, net, inputs, out, new InputType[] {input}, labelKinds(layers.get(layers.size() - 1)), indices);
    }

    private NeuralNetConfiguration.Builder defaults() {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder().seed(r.nextInt())
                .dataType(DataType.DOUBLE).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER)
                .convolutionMode(pick(ConvolutionMode.Truncate, ConvolutionMode.Same));
        // Training settings: what MutableNetwork.fit must apply as DL4J does (and score must include)
        org.nd4j.linalg.learning.config.IUpdater[] updaters = {new Sgd(0.1), new Adam(0.01),
            new org.nd4j.linalg.learning.config.Nesterovs(0.05, 0.9), new org.nd4j.linalg.learning.config.RmsProp(0.01),
            new org.nd4j.linalg.learning.config.AdaMax(0.02), new org.nd4j.linalg.learning.config.AMSGrad(0.01)};
        b.updater(updaters[training.nextInt(updaters.length)]);
        if (training.nextDouble() < 0.2) {
            b.biasUpdater(new Sgd(0.05));
        }
        if (training.nextDouble() < 0.3) {
            b.l2(0.01);
        }
        if (training.nextDouble() < 0.2) {
            b.l1(0.005).l1Bias(0.002);
        }
        if (training.nextDouble() < 0.2) {
            b.weightDecay(0.01);
        }
        if (training.nextDouble() < 0.3) {
            GradientNormalization[] kinds = {GradientNormalization.RenormalizeL2PerLayer,
                GradientNormalization.RenormalizeL2PerParamType, GradientNormalization.ClipElementWiseAbsoluteValue,
                GradientNormalization.ClipL2PerLayer, GradientNormalization.ClipL2PerParamType};
            b.gradientNormalization(kinds[training.nextInt(kinds.length)]).gradientNormalizationThreshold(0.5);
        }
        return b;
    }

    /** What DL4J's builder does with an input type: its pre-processor, nIn, then the layer's output type. */
    private static InputType advance(Layer layer, InputType in) {
        InputPreProcessor p = layer.getPreProcessorForInputType(in);
        InputType t = p == null ? in : p.getOutputType(in);
        layer.setNIn(t, false);
        return layer.getOutputType(0, t);
    }

    /** A random hidden layer that reads {@code t}, or null when none fits. */
    private Layer randomLayer(InputType t, boolean preferConv1d) {
        Layer drawn = randomLayerOf(t, preferConv1d);
        Layer replacement = drawn == null ? null : sameDiffBasedLayer(t);
        if (replacement == null) {
            return drawn;
        }
        parts.remove(parts.size() - 1);
        return note(replacement);
    }

    private Layer randomLayerOf(InputType t, boolean preferConv1d) {
        if (refuse()) {
            return note(refusedLayer(t));
        }
        if (t instanceof InputType.InputTypeConvolutional) {
            return cnnLayer((InputType.InputTypeConvolutional) t);
        } else if (t instanceof InputType.InputTypeRecurrent) {
            InputType.InputTypeRecurrent rt = (InputType.InputTypeRecurrent) t;
            return preferConv1d && r.nextDouble() < 0.7 ? conv1dLayer(rt) : recurrentLayer(rt);
        }
        return ffLayer(((InputType.InputTypeFeedForward) t).getSize());
    }

    /**
     * Now and then one of DL4J's SameDiff-based layers reading {@code t} (NCW series, NCHW images: the only layouts
     * they take), drawn from {@link #sameDiffBased}; null otherwise.
     */
    private Layer sameDiffBasedLayer(InputType t) {
        Random d = sameDiffBased;
        if (t instanceof InputType.InputTypeRecurrent rt && rt.getFormat() == RNNFormat.NCW && d.nextDouble() < 0.1) {
            long length = rt.getTimeSeriesLength();
            double u = d.nextDouble();
            if (u < 0.4) {
                int heads = 1 + d.nextInt(2);
                boolean project = heads > 1 || d.nextBoolean();
                SelfAttentionLayer.Builder b = new SelfAttentionLayer.Builder().nHeads(heads).projectInput(project);
                return project ? b.nOut(heads * (1 + d.nextInt(3))).build() : b.build();
            }
            if (u < 0.65 || length <= 0) {
                int heads = 1 + d.nextInt(2);
                return new RecurrentAttentionLayer.Builder().nIn((int) rt.getSize()).nOut(heads * (1 + d.nextInt(2)))
                        .nHeads(heads).projectInput(true).activation(sameDiffBasedActivation(d)).build();
            }
            LocallyConnected1D.Builder b = new LocallyConnected1D.Builder().nOut(1 + d.nextInt(4))
                    .kernelSize(1 + d.nextInt((int) Math.min(3, length))).stride(1)
                    .convolutionMode(d.nextBoolean() ? ConvolutionMode.Same : ConvolutionMode.Truncate)
                    .activation(sameDiffBasedActivation(d)).hasBias(d.nextDouble() < 0.85);
            return (d.nextBoolean() ? b.setInputSize((int) length) : b).build();
        }
        if (t instanceof InputType.InputTypeConvolutional ct && ct.getFormat() == CNN2DFormat.NCHW
                && d.nextDouble() < 0.08) {
            int k = 1 + d.nextInt((int) Math.min(2, Math.min(ct.getHeight(), ct.getWidth())));
            LocallyConnected2D.Builder b = new LocallyConnected2D.Builder().nOut(1 + d.nextInt(3)).kernelSize(k, k)
                    .stride(1, 1).convolutionMode(d.nextBoolean() ? ConvolutionMode.Same : ConvolutionMode.Truncate)
                    .activation(sameDiffBasedActivation(d)).hasBias(d.nextDouble() < 0.85);
            return (d.nextBoolean() ? b.setInputSize((int) ct.getHeight(), (int) ct.getWidth()) : b).build();
        }
        return null;
    }

    /** An activation of a SameDiff-based layer (each defined in SameDiff; refused ones are drawn elsewhere). */
    private static Activation sameDiffBasedActivation(Random d) {
        Activation[] options = {Activation.TANH, Activation.SIGMOID, Activation.RELU, Activation.IDENTITY,
            Activation.SOFTSIGN, Activation.ELU};
        return options[d.nextInt(options.length)];
    }

    /**
     * Now and then a capsule head for NCHW images of known size ({@code PrimaryCapsules}, {@code CapsuleLayer},
     * {@code CapsuleStrengthLayer}, then the output layer given), drawn from {@link #sameDiffBased}; null otherwise.
     */
    private List<Layer> capsuleHead(InputType t, Layer output) {
        Random d = sameDiffBased;
        if (!(t instanceof InputType.InputTypeConvolutional ct) || ct.getFormat() != CNN2DFormat.NCHW
                || d.nextDouble() >= 0.12) {
            return null;
        }
        int k = 1 + d.nextInt((int) Math.min(3, Math.min(ct.getHeight(), ct.getWidth())));
        int stride = 1 + d.nextInt(2);
        List<Layer> out = new ArrayList<>();
        out.add(note(new PrimaryCapsules.Builder(2 + d.nextInt(2), 1 + d.nextInt(2)).kernelSize(k, k)
                .stride(stride, stride).build()));
        out.add(note(new CapsuleLayer.Builder(2 + d.nextInt(2), 2 + d.nextInt(2), 1 + d.nextInt(3)).build()));
        out.add(note(new CapsuleStrengthLayer.Builder().build()));
        out.add(output);
        return out;
    }

    private Layer ffLayer(long n) {
        int nOut = 2 + r.nextInt(5);
        switch (r.nextInt(12)) {
            case 0:
                return note(new ActivationLayer.Builder().activation(hidden()).build());
            case 1:
                return note(new DropoutLayer.Builder(0.5 + 0.4 * r.nextDouble()).build());
            case 2:
                return note(new BatchNormalization.Builder().useLogStd(r.nextBoolean()).lockGammaBeta(r.nextDouble() < 0.2).build());
            case 3:
                return note(new PReLULayer.Builder().inputShape(n).build());
            case 4:
                return note(new FrozenLayer(new DenseLayer.Builder().nIn(n).nOut(nOut).activation(hidden()).build()));
            case 5:
                return note(new FrozenLayerWithBackprop(new DenseLayer.Builder().nIn(n).nOut(nOut).activation(hidden())
                        .build()));
            case 6:
                return note(new DenseLayer.Builder().nOut(nOut).activation(hidden()).dropOut(0.6).build());
            default:
                return note(new DenseLayer.Builder().nOut(nOut).activation(hidden()).hasBias(r.nextDouble() < 0.85).build());
        }
    }

    private Layer cnnLayer(InputType.InputTypeConvolutional t) {
        long h = t.getHeight();
        long w = t.getWidth();
        long c = t.getChannels();
        CNN2DFormat f = t.getFormat();
        boolean setFormat = r.nextBoolean();
        int k = 1 + r.nextInt((int) Math.min(3, Math.min(h, w)));
        int s = 1 + (r.nextDouble() < 0.3 ? 1 : 0);
        int p = r.nextDouble() < 0.3 ? 1 : 0;
        ConvolutionMode mode = pick(ConvolutionMode.Truncate, ConvolutionMode.Truncate, ConvolutionMode.Same,
                ConvolutionMode.Strict);
        int nOut = 1 + r.nextInt(4);
        switch (r.nextInt(16)) {
            case 0:
            case 1: {
                SubsamplingLayer.Builder b = new SubsamplingLayer.Builder(pick(PoolingType.MAX, PoolingType.AVG, PoolingType.PNORM))
                        .kernelSize(k, k).stride(s, s).padding(p, p).convolutionMode(mode).pnorm(2)
                        .avgPoolIncludePadInDivisor(r.nextBoolean());
                return note(setFormat ? b.dataFormat(f).build() : b.build());
            }
            case 2:
                return note(new BatchNormalization.Builder().useLogStd(r.nextBoolean()).dataFormat(f).build());
            case 3:
                return note(new DropoutLayer.Builder(0.7).build());
            case 4:
                return note(new ZeroPaddingLayer.Builder(r.nextInt(2), r.nextInt(2), r.nextInt(2), 1).dataFormat(f).build());
            case 5:
                if (h > 2 && w > 2) {
                    return note(new Cropping2D.Builder(r.nextInt(2), 1, 1, r.nextInt(2)).dataFormat(f).build());
                }
                return note(new ActivationLayer.Builder().activation(hidden()).build());
            case 6:
                return note(new Upsampling2D.Builder(2).dataFormat(f).build());
            case 7:
                return note(new DepthwiseConvolution2D.Builder(k, k).stride(s, s).depthMultiplier(1 + r.nextInt(2))
                        .convolutionMode(mode).activation(hidden()).dataFormat(f).hasBias(r.nextBoolean()).build());
            case 8:
                return note(new SeparableConvolution2D.Builder(k, k).stride(s, s).depthMultiplier(1 + r.nextInt(2))
                        .convolutionMode(mode).nOut(nOut).activation(hidden()).dataFormat(f).build());
            case 9:
                return note(new Deconvolution2D.Builder(k, k).stride(s, s).padding(0, 0)
                        .convolutionMode(r.nextBoolean() ? ConvolutionMode.Same : ConvolutionMode.Truncate)
                        .nOut(nOut).activation(hidden()).dataFormat(f).build());
            case 10:
                if (h % 2 == 0 && w % 2 == 0) {
                    return note(new SpaceToDepthLayer.Builder(2, f).build());
                }
                return note(new LocalResponseNormalization.Builder().dataFormat(f).build());
            case 11:
                return note(new LocalResponseNormalization.Builder().dataFormat(f).build());
            case 12:
                return note(new ActivationLayer.Builder().activation(hidden()).build());
            case 13:
                if (c > 0) {
                    return note(new PReLULayer.Builder().inputShape(f == CNN2DFormat.NCHW ? new long[] {c, h, w}
                            : new long[] {h, w, c}).sharedAxes(f == CNN2DFormat.NCHW ? 2 : 1).build());
                }
                // fall through
            default: {
                ConvolutionLayer.Builder b = new ConvolutionLayer.Builder(k, k).stride(s, s).padding(p, p)
                        .convolutionMode(mode).nOut(nOut).activation(hidden()).hasBias(r.nextDouble() < 0.85);
                if (r.nextDouble() < 0.15) {
                    b.dilation(2, 2);
                }
                if (r.nextDouble() < 0.1) {
                    b.dropOut(0.7);
                }
                return note(setFormat ? b.dataFormat(f).build() : b.build());
            }
        }
    }

    private Layer recurrentLayer(InputType.InputTypeRecurrent t) {
        RNNFormat f = t.getFormat();
        int nOut = 2 + r.nextInt(4);
        switch (r.nextInt(11)) {
            case 0:
            case 1:
                return note(new GravesLSTM.Builder().nOut(nOut).activation(lstmActivation())
                        .gateActivationFunction(pick(Activation.SIGMOID, Activation.HARDSIGMOID)).dataFormat(f).build());
            case 2:
            case 3:
                return note(new SimpleRnn.Builder().nOut(nOut).activation(hidden()).dataFormat(f).build());
            case 4:
            case 5: {
                Layer inner = r.nextBoolean() ? lstm(nOut, f)
                        : new SimpleRnn.Builder().nOut(nOut).activation(hidden()).dataFormat(f).build();
                return note(new Bidirectional(pick(Bidirectional.Mode.values()), inner));
            }
            case 6:
                return note(new DenseLayer.Builder().nOut(nOut).activation(hidden()).build());
            case 7:
                return note(new DropoutLayer.Builder(0.6).build());
            case 8:
                return conv1dLayer(t);
            default:
                return note(lstm(nOut, f));
        }
    }

    /**
     * Sometimes a {@code MaskZeroLayer} around a first recurrent layer that it can wrap ({@code LSTM},
     * {@code SimpleRnn}, or a {@code Bidirectional} of either), masking steps whose features all equal 0 or -1: the
     * data are then padded with that value ({@link #pad}), so that it masks.
     */
    private Layer maskingZeros(Layer l) {
        Layer inner = l instanceof Bidirectional b ? b.getFwd() : l;
        if (!(inner instanceof LSTM || inner instanceof SimpleRnn) || padding.nextDouble() >= 0.4) {
            return l;
        }
        maskingValue = padding.nextBoolean() ? 0.0 : -1.0;
        parts.set(parts.size() - 1, "MaskZeroLayer(" + maskingValue + ") around " + parts.get(parts.size() - 1));
        return new MaskZeroLayer.Builder().setUnderlying(l).setMaskValue(maskingValue).build();
    }

    /**
     * Pads about half of the examples with the masking value in every feature: from one step to all but one, at the
     * end or at the start of the series.
     */
    private void pad(INDArray x, InputType.InputTypeRecurrent t) {
        boolean ncw = t.getFormat() == RNNFormat.NCW;
        long steps = x.size(ncw ? 2 : 1);
        for (int n = 0; n < x.size(0); n++) {
            if (padding.nextBoolean()) {
                continue;
            }
            int padded = 1 + padding.nextInt((int) steps - 1);
            boolean atEnd = padding.nextBoolean();
            for (int k = 0; k < padded; k++) {
                long step = atEnd ? steps - 1 - k : k;
                INDArray at = ncw ? x.get(NDArrayIndex.point(n), NDArrayIndex.all(), NDArrayIndex.point(step))
                        : x.get(NDArrayIndex.point(n), NDArrayIndex.point(step), NDArrayIndex.all());
                at.assign(maskingValue);
            }
        }
        parts.add("data padded with " + maskingValue);
    }

    private LSTM lstm(int nOut, RNNFormat f) {
        return new LSTM.Builder().nOut(nOut).activation(lstmActivation())
                .gateActivationFunction(pick(Activation.SIGMOID, Activation.HARDSIGMOID)).dataFormat(f).build();
    }

    private Layer conv1dLayer(InputType.InputTypeRecurrent t) {
        long length = t.getTimeSeriesLength();
        int k = 1 + r.nextInt((int) Math.max(1, Math.min(3, length)));
        ConvolutionMode mode = pick(ConvolutionMode.Truncate, ConvolutionMode.Same, ConvolutionMode.Causal);
        switch (r.nextInt(8)) {
            case 0:
                return note(new Subsampling1DLayer.Builder(pick(PoolingType.MAX, PoolingType.AVG, PoolingType.PNORM))
                        .kernelSize(k).stride(1).pnorm(2).convolutionMode(mode).build());
            case 1:
                return note(new ZeroPadding1DLayer.Builder(r.nextInt(2), 1).build());
            case 2:
                if (length > 2) {
                    return note(new Cropping1D.Builder(1, 0).build());
                }
                return note(new Upsampling1D.Builder(2).build());
            case 3:
                return note(new Upsampling1D.Builder(2).build());
            default:
                return note(new Convolution1DLayer.Builder(k).stride(1 + (r.nextDouble() < 0.2 ? 1 : 0))
                        .convolutionMode(mode).nOut(1 + r.nextInt(4)).activation(hidden()).rnnDataFormat(t.getFormat())
                        .hasBias(r.nextDouble() < 0.85).build());
        }
    }

    /** A layer or option the adapter does not convert (it should refuse it by name). */
    private Layer refusedLayer(InputType t) {
        int nOut = 2 + r.nextInt(3);
        if (t instanceof InputType.InputTypeConvolutional) {
            switch (r.nextInt(3)) {
                case 0:
                    return new SubsamplingLayer.Builder(PoolingType.SUM).kernelSize(1, 1).stride(1, 1).build();
                case 1:
                    return new ConvolutionLayer.Builder(1, 1).nOut(nOut).activation(Activation.TANH)
                            .weightNoise(new DropConnect(0.5)).build();
                default:
                    return new ConvolutionLayer.Builder(1, 1).nOut(nOut).activation(pick(REFUSED_ACTIVATIONS)).build();
            }
        } else if (t instanceof InputType.InputTypeRecurrent) {
            switch (r.nextInt(3)) {
                case 0:
                    // (the same draws as an LSTM: a MaskZeroLayer around an LSTM converts)
                    return new MaskZeroLayer.Builder().setUnderlying(new GravesLSTM.Builder().nOut(nOut)
                            .activation(lstmActivation()).gateActivationFunction(pick(Activation.SIGMOID,
                                    Activation.HARDSIGMOID)).dataFormat(((InputType.InputTypeRecurrent) t).getFormat())
                            .build()).setMaskValue(0.0).build();
                case 1:
                    return new LSTM.Builder().nOut(nOut).activation(pick(Activation.ELU, Activation.IDENTITY, Activation.CUBE))
                            .dataFormat(((InputType.InputTypeRecurrent) t).getFormat()).build();
                default:
                    return new SimpleRnn.Builder().nOut(nOut).activation(pick(REFUSED_ACTIVATIONS))
                            .dataFormat(((InputType.InputTypeRecurrent) t).getFormat()).build();
            }
        }
        switch (r.nextInt(6)) {
            case 0:
                return new DenseLayer.Builder().nOut(nOut).hasLayerNorm(true).activation(Activation.TANH).build();
            case 1:
                return new DenseLayer.Builder().nOut(nOut).weightNoise(new DropConnect(0.5)).build();
            case 2:
                return new ElementWiseMultiplicationLayer.Builder().nIn(((InputType.InputTypeFeedForward) t).getSize())
                        .nOut(((InputType.InputTypeFeedForward) t).getSize())
                        .activation(Activation.TANH).build();
            case 3:
                return new AutoEncoder.Builder().nOut(nOut).activation(Activation.SIGMOID).build();
            case 4:
                return new DenseLayer.Builder().nOut(nOut).activation(new ActivationReLU(6.0, 0.5, 0.1)).build();
            default:
                return new DenseLayer.Builder().nOut(nOut).activation(pick(REFUSED_ACTIVATIONS)).build();
        }
    }

    /** The layers that end a network whose last hidden activations are of type {@code t}. */
    private List<Layer> head(InputType t) {
        List<Layer> out = new ArrayList<>();
        int classes = 1 + r.nextInt(4);
        Object[] loss = loss();
        ILossFunction fn = (ILossFunction) loss[0];
        IActivation act = (IActivation) loss[1];
        if (t instanceof InputType.InputTypeConvolutional) {
            CNN2DFormat f = ((InputType.InputTypeConvolutional) t).getFormat();
            List<Layer> capsules = capsuleHead(t, new OutputLayer.Builder(fn).activation(act).nOut(classes).build());
            if (capsules != null) {
                note(capsules.get(capsules.size() - 1));
                return capsules;
            }
            switch (r.nextInt(4)) {
                case 0:
                    out.add(note(new ConvolutionLayer.Builder(1, 1).nOut(classes).activation(Activation.IDENTITY)
                            .dataFormat(f).build()));
                    out.add(note(new CnnLossLayer.Builder(fn).activation(act).format(f).build()));
                    return out;
                case 1:
                    break;      // dense output on the flattened image (CnnToFeedForwardPreProcessor)
                default:
                    out.add(note(new GlobalPoolingLayer.Builder(pick(PoolingType.MAX, PoolingType.AVG, PoolingType.SUM,
                            PoolingType.PNORM)).pnorm(2).build()));
                    break;
            }
            out.add(note(new OutputLayer.Builder(fn).activation(act).nOut(classes).build()));
            return out;
        } else if (t instanceof InputType.InputTypeRecurrent) {
            RNNFormat f = ((InputType.InputTypeRecurrent) t).getFormat();
            switch (r.nextInt(5)) {
                case 0:
                    out.add(note(lstm(classes, f)));
                    out.add(note(new RnnLossLayer.Builder(fn).activation(act).dataFormat(f).build()));
                    return out;
                case 1:
                    out.add(note(new LastTimeStep(r.nextBoolean() ? lstm(2 + r.nextInt(3), f)
                            : new Bidirectional(pick(Bidirectional.Mode.values()), lstm(2 + r.nextInt(3), f)))));
                    out.add(note(new OutputLayer.Builder(fn).activation(act).nOut(classes).build()));
                    return out;
                case 2:
                    out.add(note(new GlobalPoolingLayer.Builder(pick(PoolingType.MAX, PoolingType.AVG)).build()));
                    out.add(note(new OutputLayer.Builder(fn).activation(act).nOut(classes).build()));
                    return out;
                default:
                    out.add(note(new RnnOutputLayer.Builder(fn).activation(act).nOut(classes).dataFormat(f).build()));
                    return out;
            }
        }
        switch (r.nextInt(8)) {
            case 0:
                out.add(note(new DenseLayer.Builder().nOut(classes).activation(Activation.IDENTITY).build()));
                out.add(note(new LossLayer.Builder(fn).activation(act).build()));
                return out;
            case 1:
                if (refuse()) {
                    out.add(note(new RepeatVector.Builder(2).build()));     // refused: a layer the adapter lacks
                    out.add(note(new RnnOutputLayer.Builder(fn).activation(act).nOut(classes).build()));
                    return out;
                }
                // fall through
            default:
                out.add(note(new OutputLayer.Builder(fn).activation(act).nOut(classes).hasBias(r.nextDouble() < 0.9).build()));
                return out;
        }
    }

    /** A loss function and an output activation DL4J can score with it (an unsupported loss when refusing). */
    private Object[] loss() {
        if (refuse()) {
            if (r.nextBoolean()) {
                return new Object[] {new LossMSE(Nd4j.createFromArray(1.0, 2.0, 0.5, 1.5, 1.0).castTo(DataType.DOUBLE)),
                    Activation.IDENTITY.getActivationFunction()};
            }
            LossFunction fn = pick(REFUSED_LOSSES);
            Activation act = fn == LossFunction.KL_DIVERGENCE ? Activation.SOFTMAX
                    : fn == LossFunction.POISSON || fn == LossFunction.MEAN_SQUARED_LOGARITHMIC_ERROR ? Activation.SOFTPLUS
                    : Activation.TANH;
            return new Object[] {fn.getILossFunction(), act.getActivationFunction()};
        }
        switch (r.nextInt(6)) {
            case 0:
                return new Object[] {LossFunction.MCXENT.getILossFunction(), Activation.SOFTMAX.getActivationFunction()};
            case 1:
                return new Object[] {LossFunction.NEGATIVELOGLIKELIHOOD.getILossFunction(),
                    Activation.SOFTMAX.getActivationFunction()};
            case 2:
                return new Object[] {LossFunction.XENT.getILossFunction(), Activation.SIGMOID.getActivationFunction()};
            default:
                LossFunction fn = pick(LossFunction.MSE, LossFunction.L2, LossFunction.L1, LossFunction.MEAN_ABSOLUTE_ERROR);
                Activation act = pick(HIDDEN);
                return new Object[] {fn.getILossFunction(), (act == Activation.SOFTMAX ? Activation.TANH : act)
                        .getActivationFunction()};
        }
    }

    // ---------------------------------------------------------------- ComputationGraphs

    /** A vertex of the graph being generated: its name and output type. */
    private record Node(String name, InputType type) {
    }

    private Generated graph(long seed, String family) {
        ComputationGraphConfiguration.GraphBuilder b = defaults().graphBuilder();
        List<Node> nodes = new ArrayList<>();
        Map<String, Integer> consumers = new HashMap<>();
        int inputs = 1 + (r.nextDouble() < 0.4 ? 1 : 0);
        List<String> inputNames = new ArrayList<>();
        List<InputType> inputTypes = new ArrayList<>();
        String recurrentInput = null;
        CNN2DFormat cnnFormat = r.nextBoolean() ? CNN2DFormat.NCHW : CNN2DFormat.NHWC;
        RNNFormat rnnFormat = r.nextBoolean() ? RNNFormat.NCW : RNNFormat.NWC;
        long h = 4 + r.nextInt(4);
        long w = 4 + r.nextInt(4);
        for (int i = 0; i < inputs; i++) {
            InputType t;
            if (family.equals("graph-cnn") && (i == 0 || r.nextBoolean())) {
                t = InputType.convolutional(h, w, 1 + r.nextInt(3), cnnFormat);
            } else if (family.equals("graph-rnn") && (i == 0 || r.nextBoolean())) {
                t = InputType.recurrent(2 + r.nextInt(3), steps, rnnFormat);
                if (recurrentInput == null) {
                    recurrentInput = "in" + i;
                }
            } else {
                t = InputType.feedForward(2 + r.nextInt(4));
            }
            inputNames.add("in" + i);
            inputTypes.add(t);
            nodes.add(new Node("in" + i, t));
        }
        b.addInputs(inputNames.toArray(new String[0]));
        b.setInputTypes(inputTypes.toArray(new InputType[0]));
        parts.add("inputs " + inputTypes);
        int[] counter = {0};
        // every input is read at least once, then random vertices over any earlier ones
        int ops = inputs + 1 + r.nextInt(4);
        for (int i = 0; i < ops; i++) {
            Node from = i < inputs ? nodes.get(i) : nodes.get(r.nextInt(nodes.size()));
            Node made = graphStep(b, nodes, from, recurrentInput, counter);
            if (made != null) {
                nodes.add(made);
            }
        }
        for (Node n : nodes) {
            consumers.put(n.name(), 0);
        }
        countConsumers(b, consumers);
        List<Node> leaves = new ArrayList<>();
        for (Node n : nodes) {
            if (consumers.get(n.name()) == 0 && !inputNames.contains(n.name())) {
                leaves.add(n);
            }
        }
        if (leaves.isEmpty()) {
            leaves.add(nodes.get(nodes.size() - 1));
        }
        int heads = 1 + (r.nextDouble() < 0.3 ? 1 : 0);
        while (leaves.size() > heads) {
            Node a = flatten(b, leaves.remove(leaves.size() - 1), recurrentInput, counter);
            Node c = flatten(b, leaves.remove(leaves.size() - 1), recurrentInput, counter);
            String name = "v" + counter[0]++;
            MergeVertex merge = new MergeVertex();
            b.addVertex(name, merge, a.name(), c.name());
            parts.add(name + "=merge(" + a.name() + "," + c.name() + ")");
            leaves.add(new Node(name, merge.getOutputType(0, a.type(), c.type())));
        }
        List<String> outputs = new ArrayList<>();
        List<Layer> outputLayers = new ArrayList<>();
        for (Node leaf : leaves) {
            List<Layer> head = head(leaf.type());
            String in = leaf.name();
            for (int i = 0; i < head.size(); i++) {
                String name = i == head.size() - 1 ? "out" + outputs.size() : "v" + counter[0]++;
                b.addLayer(name, head.get(i), in);
                in = name;
            }
            outputs.add(in);
            outputLayers.add(head.get(head.size() - 1));
        }
        b.setOutputs(outputs.toArray(new String[0]));
        ComputationGraph net = new ComputationGraph(b.build());
        net.init();
        randomiseParameters(net.paramTable(), seed);
        INDArray[] x = new INDArray[inputs];
        for (int i = 0; i < inputs; i++) {
            x[i] = data(seed + 31L * i, inputTypes.get(i));
        }
        INDArray[] copies = new INDArray[inputs];
        for (int i = 0; i < inputs; i++) {
            copies[i] = x[i].dup();
        }
        INDArray[] out = net.output(false, copies);     // DL4J may overwrite its inputs (ActivationLayer in place)
        List<LabelKind> kinds = new ArrayList<>();
        for (Layer l : outputLayers) {
            kinds.addAll(labelKinds(l));
        }
        return finish(seed, net, x, out, inputTypes.toArray(new InputType[0]), kinds, false);
    }

    private static void countConsumers(ComputationGraphConfiguration.GraphBuilder b, Map<String, Integer> consumers) {
        for (List<String> ins : b.getVertexInputs().values()) {
            for (String in : ins) {
                consumers.merge(in, 1, Integer::sum);
            }
        }
    }

    /** One random vertex or layer reading {@code from} (and maybe another node); null if none was added. */
    private Node graphStep(ComputationGraphConfiguration.GraphBuilder b, List<Node> nodes, Node from,
                           String recurrentInput, int[] counter) {
        String name = "v" + counter[0]++;
        Node attention = attentionVertex(b, nodes, from, name);
        if (attention != null) {
            return attention;
        }
        double u = r.nextDouble();
        if (u < 0.4) {
            Layer l = randomLayer(from.type(), false);
            if (l == null) {
                return null;
            }
            InputType t = advance(l, from.type());
            b.addLayer(name, l, from.name());
            parts.add(name + "<-" + from.name());
            return new Node(name, t);
        }
        if (u < 0.55) {
            Node other = compatibleForMerge(nodes, from);
            if (other == null) {
                return null;
            }
            MergeVertex v = new MergeVertex();
            return addVertex(b, name, v, from, other);
        }
        if (u < 0.72) {
            Node other = sameType(b, nodes, from, counter);
            if (other == null) {
                return null;
            }
            ElementWiseVertex.Op op = pick(ElementWiseVertex.Op.values());
            return addVertex(b, name, new ElementWiseVertex(op), from, other);
        }
        if (refuse() && recurrentInput != null && from.type() instanceof InputType.InputTypeRecurrent) {
            return addVertex(b, name, new ReverseTimeSeriesVertex(recurrentInput), from);
        }
        List<GraphVertex> options = new ArrayList<>();
        options.add(new ScaleVertex(0.5 + r.nextDouble()));
        options.add(new ShiftVertex(r.nextGaussian()));
        InputType t = from.type();
        if (t instanceof InputType.InputTypeFeedForward) {
            long n = ((InputType.InputTypeFeedForward) t).getSize();
            options.add(new L2NormalizeVertex());
            if (n >= 2) {
                int a = r.nextInt((int) n - 1);
                options.add(new SubsetVertex(a, a + r.nextInt((int) (n - a))));
            }
            if (recurrentInput != null) {
                options.add(new DuplicateToTimeSeriesVertex(recurrentInput));
            }
            Node other = sameType(b, nodes, from, counter);
            if (other != null && r.nextBoolean()) {
                return addVertex(b, name, new L2Vertex(), from, other);
            }
        } else if (t instanceof InputType.InputTypeRecurrent) {
            if (recurrentInput != null) {
                options.add(new LastTimeStepVertex(recurrentInput));
            }
        } else if (t instanceof InputType.InputTypeConvolutional) {
            InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) t;
            if (c.getHeight() > 2 && c.getWidth() > 2 && c.getFormat() == CNN2DFormat.NCHW) {
                options.add(new PoolHelperVertex());
            }
        }
        if (r.nextDouble() < 0.15) {
            String stacked = name;
            Node s = addVertex(b, stacked, new StackVertex(), from, from);
            return addVertex(b, "v" + counter[0]++, new UnstackVertex(r.nextInt(2), 2), s);
        }
        return addVertex(b, name, options.get(r.nextInt(options.size())), from);
    }

    /**
     * Now and then DL4J's {@code AttentionVertex} on NCW series: queries from {@code from}, keys and values from a
     * series of the same length (itself or another), drawn from {@link #sameDiffBased}; null otherwise.
     */
    private Node attentionVertex(ComputationGraphConfiguration.GraphBuilder b, List<Node> nodes, Node from,
                                 String name) {
        Random d = sameDiffBased;
        if (!(from.type() instanceof InputType.InputTypeRecurrent q) || q.getFormat() != RNNFormat.NCW
                || d.nextDouble() >= 0.12) {
            return null;
        }
        List<Node> sources = new ArrayList<>();
        for (Node n : nodes) {
            if (n.type() instanceof InputType.InputTypeRecurrent k && k.getFormat() == RNNFormat.NCW
                    && k.getTimeSeriesLength() == q.getTimeSeriesLength()) {
                sources.add(n);
            }
        }
        Node kv = sources.get(d.nextInt(sources.size()));
        long keys = ((InputType.InputTypeRecurrent) kv.type()).getSize();
        int heads = 1 + d.nextInt(2);
        AttentionVertex v = new AttentionVertex.Builder().nInQueries(q.getSize()).nInKeys(keys).nInValues(keys)
                .nOut(heads * (1 + d.nextInt(3))).nHeads(heads).projectInput(true).build();
        return addVertex(b, name, v, from, kv, kv);
    }

    private Node addVertex(ComputationGraphConfiguration.GraphBuilder b, String name, GraphVertex v, Node... in) {
        InputType[] types = new InputType[in.length];
        String[] names = new String[in.length];
        for (int i = 0; i < in.length; i++) {
            types[i] = in[i].type();
            names[i] = in[i].name();
        }
        InputType t = v.getOutputType(0, types);
        b.addVertex(name, v, names);
        parts.add(name + "=" + v.getClass().getSimpleName() + String.join(",", names));
        return new Node(name, t);
    }

    private Node compatibleForMerge(List<Node> nodes, Node from) {
        List<Node> ok = new ArrayList<>();
        for (Node n : nodes) {
            if (n == from) {
                continue;
            }
            InputType a = from.type();
            InputType c = n.type();
            if (a instanceof InputType.InputTypeFeedForward && c instanceof InputType.InputTypeFeedForward) {
                ok.add(n);
            } else if (a instanceof InputType.InputTypeConvolutional && c instanceof InputType.InputTypeConvolutional) {
                InputType.InputTypeConvolutional x = (InputType.InputTypeConvolutional) a;
                InputType.InputTypeConvolutional y = (InputType.InputTypeConvolutional) c;
                if (x.getHeight() == y.getHeight() && x.getWidth() == y.getWidth() && x.getFormat() == y.getFormat()) {
                    ok.add(n);
                }
            } else if (a instanceof InputType.InputTypeRecurrent && c instanceof InputType.InputTypeRecurrent) {
                InputType.InputTypeRecurrent x = (InputType.InputTypeRecurrent) a;
                InputType.InputTypeRecurrent y = (InputType.InputTypeRecurrent) c;
                if (x.getTimeSeriesLength() == y.getTimeSeriesLength() && x.getFormat() == y.getFormat()) {
                    ok.add(n);
                }
            }
        }
        return ok.isEmpty() ? null : ok.get(r.nextInt(ok.size()));
    }

    /** Another node of {@code from}'s exact type: an existing one, or a new layer mapping some node to it. */
    private Node sameType(ComputationGraphConfiguration.GraphBuilder b, List<Node> nodes, Node from, int[] counter) {
        for (Node n : nodes) {
            if (n != from && n.type().equals(from.type()) && r.nextBoolean()) {
                return n;
            }
        }
        InputType t = from.type();
        Node source = compatibleForMerge(nodes, from);
        if (source == null) {
            source = from;
        }
        Layer l;
        if (t instanceof InputType.InputTypeFeedForward) {
            l = new DenseLayer.Builder().nOut(((InputType.InputTypeFeedForward) t).getSize()).activation(hidden()).build();
        } else if (t instanceof InputType.InputTypeConvolutional) {
            InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) t;
            l = new ConvolutionLayer.Builder(1 + 2 * r.nextInt(2), 1 + 2 * r.nextInt(2)).convolutionMode(ConvolutionMode.Same)
                    .nOut(c.getChannels()).activation(hidden()).dataFormat(c.getFormat()).build();
        } else {
            InputType.InputTypeRecurrent rt = (InputType.InputTypeRecurrent) t;
            l = r.nextBoolean() ? lstm((int) rt.getSize(), rt.getFormat())
                    : new SimpleRnn.Builder().nOut(rt.getSize()).activation(hidden()).dataFormat(rt.getFormat()).build();
        }
        String name = "v" + counter[0]++;
        InputType out = advance(l, source.type());
        b.addLayer(name, l, source.name());
        parts.add(name + "=" + l.getClass().getSimpleName() + "<-" + source.name());
        return new Node(name, out);
    }

    /** {@code n} as feed-forward activations (global pooling or the last time step), to be merged with others. */
    private Node flatten(ComputationGraphConfiguration.GraphBuilder b, Node n, String recurrentInput, int[] counter) {
        if (n.type() instanceof InputType.InputTypeFeedForward) {
            return n;
        }
        String name = "v" + counter[0]++;
        if (n.type() instanceof InputType.InputTypeRecurrent && recurrentInput != null && r.nextBoolean()) {
            return addVertex(b, name, new LastTimeStepVertex(recurrentInput), n);
        }
        Layer l = new GlobalPoolingLayer.Builder(pick(PoolingType.MAX, PoolingType.AVG)).build();
        InputType t = advance(l, n.type());
        b.addLayer(name, l, n.name());
        parts.add(name + "=GlobalPooling<-" + n.name());
        return new Node(name, t);
    }

    // ---------------------------------------------------------------- data

    /** How an output's labels are drawn: one-hot along {@code axis}, probabilities, or real values. */
    private record LabelKind(String kind, int axis) {
    }

    private static List<LabelKind> labelKinds(Layer outputLayer) {
        Layer l = outputLayer;
        ILossFunction fn;
        int axis = 1;
        if (l instanceof org.deeplearning4j.nn.conf.layers.BaseOutputLayer) {
            fn = ((org.deeplearning4j.nn.conf.layers.BaseOutputLayer) l).getLossFn();
        } else if (l instanceof LossLayer) {
            fn = ((LossLayer) l).getLossFn();
        } else {
            return List.of(new LabelKind("none", 1));
        }
        if (l instanceof CnnLossLayer && ((CnnLossLayer) l).getFormat() == CNN2DFormat.NHWC) {
            axis = 3;
        } else if (l instanceof RnnOutputLayer && ((RnnOutputLayer) l).getRnnDataFormat() == RNNFormat.NWC
                || l instanceof RnnLossLayer && ((RnnLossLayer) l).getRnnDataFormat() == RNNFormat.NWC) {
            axis = 2;
        }
        String kind = fn instanceof org.nd4j.linalg.lossfunctions.impl.LossMCXENT ? "onehot"
                : fn instanceof org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT ? "prob" : "real";
        return List.of(new LabelKind(kind, axis));
    }

    private static INDArray[] dupAll(INDArray[] arrays) {
        INDArray[] out = new INDArray[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = arrays[i].dup();
        }
        return out;
    }

    private Generated finish(long seed, Model net, INDArray[] inputs, INDArray[] out, InputType[] inputTypes,
                             List<LabelKind> kinds, boolean indexInput) {
        for (INDArray o : out) {
            if (o.isNaN().any() || o.isInfinite().any()) {
                throw new IllegalStateException("DL4J's output is not finite");
            }
        }
        // A pooling window longer than the series leaves an empty activation: DL4J's output() still returns
        // numbers (seed 3425), its feedForward fails; the network computes nothing
        java.util.Collection<INDArray> activations = net instanceof MultiLayerNetwork
                ? ((MultiLayerNetwork) net).feedForward(inputs[0].dup(), false)
                : ((ComputationGraph) net).feedForward(dupAll(inputs), false).values();
        for (INDArray a : activations) {
            if (a.length() == 0) {
                throw new IllegalStateException("DL4J computes an empty activation");
            }
        }
        INDArray[] labels = new INDArray[out.length];
        for (int i = 0; i < out.length; i++) {
            LabelKind k = kinds.get(Math.min(i, kinds.size() - 1));
            long[] shape = out[i].shape();
            switch (k.kind()) {
                case "onehot":
                    labels[i] = oneHot(seed + 7 * i, shape, k.axis());
                    break;
                case "prob":
                    labels[i] = Networks.probabilities(DataType.DOUBLE, seed + 7 * i, shape);
                    break;
                default:
                    labels[i] = Networks.randn(DataType.DOUBLE, seed + 7 * i, shape);
                    break;
            }
        }
        boolean recurrent = false;
        for (InputType t : inputTypes) {
            recurrent |= t instanceof InputType.InputTypeRecurrent;
        }
        return new Generated(seed, String.join(" > ", parts), net, inputs, labels, recurrent ? steps : -1, inputTypes, out,
                indexInput);
    }

    private static INDArray oneHot(long seed, long[] shape, int axis) {
        Random rr = new Random(seed);
        INDArray out = Nd4j.zeros(DataType.DOUBLE, shape);
        long classes = shape[axis];
        long[] idx = new long[shape.length];
        long rows = out.length() / classes;
        for (long i = 0; i < rows; i++) {
            long rest = i;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (d == axis) {
                    continue;
                }
                idx[d] = rest % shape[d];
                rest /= shape[d];
            }
            idx[axis] = rr.nextInt((int) classes);
            out.putScalar(idx, 1.0);
        }
        return out;
    }

    private static INDArray data(long seed, InputType t) {
        return Networks.randn(DataType.DOUBLE, seed, shapeOf(t));
    }

    private static INDArray indices(long seed, long vocabulary, InputType t) {
        long[] shape = t instanceof InputType.InputTypeRecurrent
                ? new long[] {N, ((InputType.InputTypeRecurrent) t).getTimeSeriesLength()} : new long[] {N, 1};
        return Networks.indices(DataType.DOUBLE, seed, vocabulary, shape);
    }

    /**
     * Moves every parameter off its initial value (biases start at 0, batch normalisation's statistics at 0 and 1),
     * keeping variances positive, so that a misplaced parameter shows in the outputs.
     */
    private static void randomiseParameters(Map<String, INDArray> table, long seed) {
        table.forEach((key, value) -> {
            INDArray noise = Networks.randn(DataType.DOUBLE, seed + key.hashCode(), value.shape());
            if (key.endsWith("_var")) {
                value.assign(Nd4j.math().abs(noise).muli(0.5).addi(0.5));
            } else if (key.endsWith("_log10stdev")) {
                value.assign(noise.muli(0.1));
            } else {
                value.addi(noise.muli(0.2));
            }
        });
    }

    // ---------------------------------------------------------------- randomness

    private boolean refuse() {
        return mixRefused && r.nextDouble() < 0.2;
    }

    private IActivation hidden() {
        if (refuse()) {
            return pick(REFUSED_ACTIVATIONS).getActivationFunction();
        }
        return pick(HIDDEN).getActivationFunction();
    }

    private Activation lstmActivation() {
        return pick(LSTM_ACTIVATIONS);
    }

    @SafeVarargs
    private <T> T pick(T... options) {
        return options[r.nextInt(options.length)];
    }

    private <L extends Layer> L note(L layer) {
        String name = layer.getClass().getSimpleName();
        if (layer instanceof org.deeplearning4j.nn.conf.layers.BaseLayer) {
            IActivation a = ((org.deeplearning4j.nn.conf.layers.BaseLayer) layer).getActivationFn();
            name += a == null ? "" : "(" + a + ")";
        }
        parts.add(name);
        return layer;
    }

    /** The data shape of {@code t} for {@link #N} examples. */
    static long[] shapeOf(InputType t) {
        long[] s = t.getShape(false);
        long[] out = new long[s.length + 1];
        out[0] = N;
        System.arraycopy(s, 0, out, 1, s.length);
        return out;
    }
}
