package org.mutablemodules.dl4j;

import java.util.function.Function;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/** Small DL4J networks and data for the tests, all with fixed seeds. */
final class Networks {

    private Networks() {
    }

    /** A network of the given layers, initialised, with input type {@code inputType} (may be null). */
    static MultiLayerNetwork network(DataType type, InputType inputType, Layer... layers) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(12345).dataType(type).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER)
                .convolutionMode(ConvolutionMode.Truncate).list();
        for (Layer l : layers) {
            b.layer(l);
        }
        if (inputType != null) {
            b.setInputType(inputType);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        // Xavier biases start at zero: make them non-zero so a misplaced bias cannot go unnoticed.
        net.paramTable().forEach((key, value) -> {
            if (key.endsWith("_b")) {
                Nd4j.getRandom().setSeed(key.hashCode());
                value.assign(Nd4j.randn(type, value.shape()).muli(0.3));
            }
        });
        return net;
    }

    static INDArray randn(DataType type, long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(type, shape);
    }

    /** One-hot rows: {@code n} examples over {@code classes} classes. */
    static INDArray oneHot(DataType type, long seed, long n, long classes) {
        java.util.Random r = new java.util.Random(seed);
        INDArray out = Nd4j.zeros(type, n, classes);
        for (int i = 0; i < n; i++) {
            out.putScalar(i, r.nextInt((int) classes), 1.0);
        }
        return out;
    }

    /** One-hot time series [n, classes, steps]: one class per example and time step. */
    static INDArray oneHotSeries(DataType type, long seed, long n, long classes, long steps) {
        java.util.Random r = new java.util.Random(seed);
        INDArray out = Nd4j.zeros(type, n, classes, steps);
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < steps; t++) {
                out.putScalar(new long[] {i, r.nextInt((int) classes), t}, 1.0);
            }
        }
        return out;
    }

    /** Values in (0, 1), for binary cross-entropy labels. */
    static INDArray probabilities(DataType type, long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(type, shape).muli(0.9).addi(0.05);
    }

    /** Integer indices in [0, max) stored as {@code type}. */
    static INDArray indices(DataType type, long seed, long max, long... shape) {
        java.util.Random r = new java.util.Random(seed);
        INDArray out = Nd4j.zeros(type, shape);
        for (long i = 0; i < out.length(); i++) {
            out.putScalar(i, r.nextInt((int) max));
        }
        return out;
    }

    /** A description of one test network: how to build it and its data. */
    record Case(String name, Function<DataType, MultiLayerNetwork> network, Function<DataType, INDArray> input,
                Function<DataType, INDArray> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput,
                int sequenceLength) {

        Case(String name, Function<DataType, MultiLayerNetwork> network, Function<DataType, INDArray> input,
             Function<DataType, INDArray> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput) {
            this(name, network, input, labels, dl4jTrainsLikeItInfers, integerInput, -1);
        }

        /** Converts the network as this case requires. */
        MutableNetwork convert(MultiLayerNetwork net) {
            return sequenceLength > 0 ? MutableNetwork.of(net, sequenceLength) : MutableNetwork.of(net);
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
