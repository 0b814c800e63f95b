package org.mutablemodules.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInitXavier;
import org.deeplearning4j.zoo.model.AlexNet;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.FaceNetNN4Small2;
import org.deeplearning4j.zoo.model.InceptionResNetV1;
import org.deeplearning4j.zoo.model.LeNet;
import org.deeplearning4j.zoo.model.NASNet;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.deeplearning4j.zoo.model.TextGenerationLSTM;
import org.deeplearning4j.zoo.model.TinyYOLO;
import org.deeplearning4j.zoo.model.UNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.deeplearning4j.zoo.model.Xception;
import org.deeplearning4j.zoo.model.YOLO2;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Every network of DL4J's model zoo (random weights, nothing downloaded), built at a reduced input size where its
 * builder allows: output parity in FLOAT; in DOUBLE, score parity with DL4J's inference score, the gradients checked
 * against the directional derivative of DL4J's own inference score, and direct gradient parity with
 * {@code computeGradientAndScore} where DL4J's training pass computes the inference function exactly (no batch
 * normalisation, dropout or LRN). The source network is never changed.
 *
 * <p>Tagged {@value #LARGE_MODELS}: these networks' arrays run to gigabytes, so the tests run in a JVM of their own
 * with JavaCPP's resident-memory limit (dl4j-adapter's {@code pom.xml}), which the other tests go without.
 */
@Tag(ZooTest.LARGE_MODELS)
class ZooTest {

    /** The tag of tests whose models need JavaCPP's resident-memory limit to stay within 8 GB. */
    static final String LARGE_MODELS = "large-models";

    private static final int N = 2;

    /**
     * A zoo network, built in FLOAT, and the shape of one example of its input.
     *
     * @param network builds the network; its batch normalisation statistics are then calibrated ({@link #build})
     */
    record Zoo(String name, Supplier<Model> network, long... exampleShape) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Zoo> zoo() {
        int classes = 5;
        List<Zoo> zoo = new ArrayList<>();
        zoo.add(new Zoo("LeNet", () -> LeNet.builder().numClasses(classes).build().init(), 1, 28, 28));
        zoo.add(new Zoo("SimpleCNN", () -> SimpleCNN.builder().numClasses(classes).inputShape(new int[] {3, 32, 32})
                .build().init(), 3, 32, 32));
        zoo.add(new Zoo("AlexNet", () -> AlexNet.builder().numClasses(classes).inputShape(new int[] {3, 64, 64})
                .build().init(), 3, 64, 64));
        zoo.add(new Zoo("TextGenerationLSTM", () -> TextGenerationLSTM.builder().maxLength(6)
                .totalUniqueCharacters(12).inputShape(new int[] {6, 12}).build().init(), 12, 6));
        zoo.add(new Zoo("VGG16", () -> VGG16.builder().numClasses(classes).inputShape(new int[] {3, 32, 32})
                .build().init(), 3, 32, 32));
        zoo.add(new Zoo("VGG19", () -> VGG19.builder().numClasses(classes).inputShape(new int[] {3, 32, 32})
                .build().init(), 3, 32, 32));
        // ResNet50's default initialisation (normal, sigma 0.5) overflows FLOAT at random: Xavier keeps it finite.
        zoo.add(new Zoo("ResNet50", () -> ResNet50.builder().numClasses(classes).weightInit(new WeightInitXavier())
                .inputShape(new int[] {3, 96, 96}).build().init(), 3, 96, 96));
        zoo.add(new Zoo("Darknet19", () -> Darknet19.builder().numClasses(classes).inputShape(new int[] {3, 64, 64})
                .build().init(), 3, 64, 64));
        zoo.add(new Zoo("TinyYOLO", () -> TinyYOLO.builder().numClasses(classes).inputShape(new int[] {3, 64, 64})
                .build().init(), 3, 64, 64));
        zoo.add(new Zoo("YOLO2", () -> YOLO2.builder().numClasses(classes).inputShape(new int[] {3, 64, 64})
                .build().init(), 3, 64, 64));
        zoo.add(new Zoo("SqueezeNet", () -> SqueezeNet.builder().numClasses(classes)
                .inputShape(new int[] {3, 64, 64}).build().init(), 3, 64, 64));
        zoo.add(new Zoo("Xception", () -> Xception.builder().numClasses(classes).inputShape(new int[] {3, 71, 71})
                .build().init(), 3, 71, 71));
        zoo.add(new Zoo("InceptionResNetV1", () -> InceptionResNetV1.builder().numClasses(classes)
                .inputShape(new int[] {3, 96, 96}).build().init(), 3, 96, 96));
        zoo.add(new Zoo("FaceNetNN4Small2", () -> FaceNetNN4Small2.builder().numClasses(classes)
                .inputShape(new int[] {3, 96, 96}).build().init(), 3, 96, 96));
        zoo.add(new Zoo("UNet", () -> UNet.builder().numClasses(1).inputShape(new int[] {3, 32, 32})
                .build().init(), 3, 32, 32));
        // -Dzoo.only=Name runs the networks whose names contain it (for working on one network).
        String only = System.getProperty("zoo.only", "");
        return zoo.stream().filter(z -> z.name().contains(only));
    }

    /**
     * The sixteenth zoo network, NASNet, cannot be built by DL4J 1.0.0-M2.1 itself: its builder asks for activation
     * types before it adds the network input (and its helper names vertices that do not exist). Should a DL4J release
     * fix it, this test fails as a reminder to add NASNet to {@link #zoo()}.
     */
    @org.junit.jupiter.api.Test
    void nasNetCannotBeBuiltByDl4jItself() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> NASNet.builder().numClasses(5).inputShape(new int[] {3, 64, 64}).build().init());
        assertTrue(e.getMessage().contains("no inputs have been set"), e.getMessage());
    }

    /**
     * The zoo network with each batch normalisation layer's running mean and variance set to the statistics of its
     * input in one DL4J training-mode forward pass, as a trained network's would be. At DL4J's initial statistics
     * (0 and 1) a deep random network is ill-conditioned: InceptionResNetV1's activations reach 1e7, and DL4J's own
     * FLOAT output then differs from its DOUBLE output by 4%.
     */
    static Model build(Zoo z) {
        Model net = z.network().get();
        if (!(net instanceof ComputationGraph)) {
            return net;
        }
        ComputationGraph cg = (ComputationGraph) net;
        ComputationGraphConfiguration conf = cg.getConfiguration();
        Map<String, INDArray> activations = null;
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (!(e.getValue() instanceof LayerVertex)
                    || !(((LayerVertex) e.getValue()).getLayerConf().getLayer() instanceof BatchNormalization)) {
                continue;
            }
            if (activations == null) {
                activations = cg.feedForward(new INDArray[] {input(z, DataType.FLOAT)}, true, false);
            }
            BatchNormalization bn = (BatchNormalization) ((LayerVertex) e.getValue()).getLayerConf().getLayer();
            INDArray in = activations.get(conf.getVertexInputs().get(e.getKey()).get(0));
            int[] axes = in.rank() == 2 ? new int[] {0}
                    : bn.getCnn2DFormat() == org.deeplearning4j.nn.conf.CNN2DFormat.NHWC ? new int[] {0, 1, 2}
                    : new int[] {0, 2, 3};
            Map<String, INDArray> params = cg.getLayer(e.getKey()).paramTable();
            // Shrunk towards the mean variance: a channel with (almost) no variance would otherwise be scaled up by
            // 1/sqrt(eps) and make the network's output hypersensitive to its weights.
            INDArray variance = in.var(false, axes);
            variance.addi(variance.meanNumber().doubleValue() * 0.1);
            params.get("mean").assign(in.mean(axes).reshape(params.get("mean").shape()));
            if (bn.isUseLogStd()) {
                INDArray log10Std = org.nd4j.linalg.ops.transforms.Transforms.log(
                        org.nd4j.linalg.ops.transforms.Transforms.sqrt(variance), 10.0);
                params.get("log10stdev").assign(log10Std.reshape(params.get("log10stdev").shape()));
            } else {
                params.get("var").assign(variance.reshape(params.get("var").shape()));
            }
        }
        return net;
    }

    private static INDArray input(Zoo z, DataType type) {
        long[] shape = new long[z.exampleShape().length + 1];
        shape[0] = N;
        System.arraycopy(z.exampleShape(), 0, shape, 1, z.exampleShape().length);
        return Networks.randn(type, 17, shape);
    }

    /** Output parity in FLOAT, within 1e-4 relative (or three times DL4J's own FLOAT error, if that is larger). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("zoo")
    void outputsEqualDl4jAndTheSourceIsUnchanged(Zoo z) {
        Model net = build(z);
        INDArray params = net.params().dup();
        INDArray x = input(z, DataType.FLOAT);
        INDArray[] expected = Networks.dl4jOutputs(net, new INDArray[] {x});
        INDArray[] exact = Networks.dl4jOutputs(inDouble(net), new INDArray[] {x.castTo(DataType.DOUBLE)});
        MutableNetwork m = Networks.convert(net, -1);
        INDArray[] actual = m.outputs(x);
        assertEquals(expected.length, actual.length, "outputs");
        for (int i = 0; i < expected.length; i++) {
            double tolerance = Math.max(1e-4, 3 * Checks.maxRelativeDifference(exact[i], expected[i]));
            Checks.assertRelativelyClose(expected[i], actual[i], tolerance, z.name() + " output " + i);
        }
        assertEquals(params, net.params(), "the zoo network must not change");
    }

    /**
     * In DOUBLE, with dropout switched off (the inference function is the same, and DL4J's training pass then
     * computes it): output and score parity, and gradient parity with {@code computeGradientAndScore} where DL4J's
     * training pass differentiates the inference function exactly (no batch normalisation, whose training pass uses
     * batch statistics, and no LRN, whose DL4J gradient is an approximation). For those networks, the gradient is
     * checked against the directional derivative of DL4J's inference score instead.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("zoo")
    void scoresAndGradientsEqualDl4jsInDouble(Zoo z) {
        Model net = withoutDropout(inDouble(build(z)));
        INDArray[] x = {input(z, DataType.DOUBLE)};
        MutableNetwork m = Networks.convert(net, -1);
        INDArray[] expectedOutputs = Networks.dl4jOutputs(net, x);
        INDArray[] actualOutputs = m.outputs(x);
        for (int i = 0; i < expectedOutputs.length; i++) {
            Checks.assertRelativelyClose(expectedOutputs[i], actualOutputs[i], 1e-6, z.name() + " DOUBLE output " + i);
        }
        if (!m.hasLoss()) {
            assertEquals("SimpleCNN", z.name(), "only SimpleCNN ends without an output layer");
            return;
        }
        INDArray[] y = labelsLike(net, expectedOutputs);
        double dl4jScore = dl4jReferenceScore(net, x, y);
        assertEquals(dl4jScore, m.score(x, y), 1e-9 * Math.max(1, Math.abs(dl4jScore)), z.name() + " score");

        Map<String, INDArray> gradients = Checks.quietly(() -> m.gradients(x, y));
        if (!differentiatesInference(net)) {
            assertDirectionalDerivativeMatchesDl4j(net, x, y, gradients, z.name());
            return;
        }
        Gradient expected = Networks.dl4jGradient(net, x, y);
        int compared = 0;
        for (Map.Entry<String, INDArray> e : expected.gradientForVariable().entrySet()) {
            INDArray g = gradients.get(e.getKey());
            assertNotNull(g, "no gradient for " + e.getKey());
            // DL4J's gradients are sums over the minibatch; its score averages them unless miniBatch(false).
            INDArray dl4j = net.conf().isMiniBatch() ? e.getValue().div(N) : e.getValue();
            Checks.assertRelativelyClose(dl4j, g, 1e-5, z.name() + " gradient " + e.getKey());
            compared++;
        }
        assertEquals(expected.gradientForVariable().size(), gradients.size(), "every parameter has a gradient");
        assertTrue(compared > 0, "no gradient compared");
    }

    /**
     * {@code sum(g . d)} for a random direction {@code d} over every parameter equals the central difference of
     * DL4J's own inference score along {@code d}: the graph's gradient is the gradient of the function DL4J computes.
     * A difference quotient of a ReLU network is noisy where a step crosses a kink, so the tolerance is the
     * difference between the quotients of two step sizes (plus 1e-6 of the directional derivative's magnitude); a
     * wrong gradient term is off by far more.
     */
    private static void assertDirectionalDerivativeMatchesDl4j(Model net, INDArray[] x, INDArray[] y,
                                                               Map<String, INDArray> gradients, String name) {
        Map<String, INDArray> directions = new java.util.LinkedHashMap<>();
        double predicted = 0;
        double magnitude = 0;
        int seed = 0;
        Map<String, INDArray> trained = backpropParameters(net);
        for (Map.Entry<String, INDArray> e : gradients.entrySet()) {
            if (!trained.containsKey(e.getKey())) {
                continue;   // running statistics: DL4J never moves them by gradient
            }
            INDArray d = Networks.randn(DataType.DOUBLE, 1000 + seed++, e.getValue().shape());
            directions.put(e.getKey(), d);
            INDArray terms = e.getValue().mul(d);
            predicted += terms.sumNumber().doubleValue();
            magnitude += org.nd4j.linalg.ops.transforms.Transforms.abs(terms).sumNumber().doubleValue();
        }
        double coarse = differenceQuotient(net, x, y, directions, 1e-6);
        double fine = differenceQuotient(net, x, y, directions, 1e-7);
        double tolerance = 1e-6 * magnitude + 3 * Math.abs(coarse - fine);
        assertEquals(fine, predicted, tolerance, name + ": directional derivative of DL4J's score " + fine
                + " (" + coarse + " with a 10x step), graph's gradient gives " + predicted);
        assertTrue(tolerance < 0.01 * magnitude, name + ": the difference quotients are too noisy to check: "
                + coarse + " and " + fine);
    }

    private static Map<String, INDArray> backpropParameters(Model net) {
        return net instanceof MultiLayerNetwork ? ((MultiLayerNetwork) net).paramTable(true)
                : ((ComputationGraph) net).paramTable(true);
    }

    private static double differenceQuotient(Model net, INDArray[] x, INDArray[] y, Map<String, INDArray> directions,
                                             double eps) {
        Map<String, INDArray> table = net.paramTable();
        directions.forEach((key, d) -> table.get(key).addi(d.mul(eps)));
        double plus = dl4jReferenceScore(net, x, y);
        directions.forEach((key, d) -> table.get(key).subi(d.mul(2 * eps)));
        double minus = dl4jReferenceScore(net, x, y);
        directions.forEach((key, d) -> table.get(key).addi(d.mul(eps)));
        return (plus - minus) / (2 * eps);
    }

    /** The same network with no dropout anywhere: the same inference function, which DL4J now also trains. */
    private static Model withoutDropout(Model net) {
        for (Layer l : layers(net)) {
            l.setIDropout(null);
        }
        return net;
    }

    /** The same network and weights in DOUBLE. */
    static Model inDouble(Model net) {
        Model copy;
        if (net instanceof MultiLayerNetwork) {
            MultiLayerConfiguration conf = ((MultiLayerNetwork) net).getLayerWiseConfigurations().clone();
            conf.setDataType(DataType.DOUBLE);
            copy = new MultiLayerNetwork(conf);
        } else {
            ComputationGraphConfiguration conf = ((ComputationGraph) net).getConfiguration().clone();
            conf.setDataType(DataType.DOUBLE);
            copy = new ComputationGraph(conf);
        }
        copy.init();
        copy.setParams(net.params().castTo(DataType.DOUBLE));
        return copy;
    }

    /**
     * Labels for the outputs: YOLO boxes for a Yolo2OutputLayer, probabilities for per-pixel sigmoid outputs,
     * one-hot along axis 1 otherwise.
     */
    private static INDArray[] labelsLike(Model net, INDArray[] outputs) {
        INDArray[] labels = new INDArray[outputs.length];
        for (int i = 0; i < outputs.length; i++) {
            long[] shape = outputs[i].shape();
            Layer outputLayer = outputLayer(net, i);
            if (outputLayer instanceof Yolo2OutputLayer) {
                long boxes = ((Yolo2OutputLayer) outputLayer).getBoundingBoxes().size(0);
                int classes = (int) (shape[1] / boxes - 5);
                labels[i] = Networks.yoloLabels(DataType.DOUBLE, 23, shape[0], classes, (int) shape[2], false);
                continue;
            }
            if (shape.length == 4) {
                labels[i] = Networks.probabilities(DataType.DOUBLE, 23, shape);
                continue;
            }
            java.util.Random r = new java.util.Random(29);
            INDArray l = Nd4j.zeros(DataType.DOUBLE, shape);
            for (long n = 0; n < shape[0]; n++) {
                if (shape.length == 2) {
                    l.putScalar(n, r.nextInt((int) shape[1]), 1.0);
                } else {
                    for (long t = 0; t < shape[2]; t++) {
                        l.putScalar(new long[] {n, r.nextInt((int) shape[1]), t}, 1.0);
                    }
                }
            }
            labels[i] = l;
        }
        return labels;
    }

    private static Layer outputLayer(Model net, int output) {
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork mln = (MultiLayerNetwork) net;
            return mln.getLayerWiseConfigurations().getConf(mln.getnLayers() - 1).getLayer();
        }
        ComputationGraphConfiguration conf = ((ComputationGraph) net).getConfiguration();
        GraphVertex v = conf.getVertices().get(conf.getNetworkOutputs().get(output));
        return v instanceof LayerVertex ? ((LayerVertex) v).getLayerConf().getLayer() : null;
    }

    /**
     * DL4J's inference score of (x, y) with its regularisation terms. DL4J 1.0.0-M2.1 scores through a forward pass in
     * which an {@code ActivationLayer} applies its activation in place to its input (it does so at inference when no
     * activation workspace is open), corrupting what another vertex reads from the same input: Xception's residual
     * connections, for example. Where that pass disagrees with {@code output()}, the reference is DL4J's own loss
     * function applied to {@code output()}, plus DL4J's regularisation score.
     */
    private static double dl4jReferenceScore(Model net, INDArray[] x, INDArray[] y) {
        if (!(net instanceof ComputationGraph)) {
            return Networks.dl4jInferenceScore(net, x, y);
        }
        ComputationGraph cg = (ComputationGraph) net;
        INDArray[] outputs = cg.output(false, x);
        Map<String, INDArray> scored = cg.feedForward(x, false, false);
        List<String> names = cg.getConfiguration().getNetworkOutputs();
        boolean sound = true;
        for (int i = 0; i < outputs.length; i++) {
            sound &= Checks.maxRelativeDifference(outputs[i], scored.get(names.get(i))) < 1e-12;
        }
        if (sound) {
            return Networks.dl4jInferenceScore(net, x, y);
        }
        double score = 0;
        for (int i = 0; i < outputs.length; i++) {
            Layer layer = outputLayer(net, i);
            org.nd4j.linalg.lossfunctions.ILossFunction loss =
                    layer instanceof org.deeplearning4j.nn.conf.layers.BaseOutputLayer
                            ? ((org.deeplearning4j.nn.conf.layers.BaseOutputLayer) layer).getLossFn()
                            : ((org.deeplearning4j.nn.conf.layers.LossLayer) layer).getLossFn();
            score += loss.computeScore(y[i], outputs[i], new org.nd4j.linalg.activations.impl.ActivationIdentity(),
                    null, true);
        }
        return score + cg.calcRegularizationScore(true);
    }

    /** False when DL4J's training pass uses batch statistics or approximates a gradient (LRN). */
    private static boolean differentiatesInference(Model net) {
        for (Layer l : layers(net)) {
            if (l instanceof BatchNormalization || l instanceof LocalResponseNormalization) {
                return false;
            }
        }
        return true;
    }

    private static List<Layer> layers(Model net) {
        List<Layer> layers = new ArrayList<>();
        if (net instanceof MultiLayerNetwork) {
            for (NeuralNetConfiguration c : ((MultiLayerNetwork) net).getLayerWiseConfigurations().getConfs()) {
                layers.add(c.getLayer());
            }
        } else {
            for (GraphVertex v : ((ComputationGraph) net).getConfiguration().getVertices().values()) {
                if (v instanceof LayerVertex) {
                    layers.add(((LayerVertex) v).getLayerConf().getLayer());
                }
            }
        }
        return layers;
    }
}
