package org.mutablemodules.dl4j;

import java.util.function.Function;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
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

    /** A graph of the given vertices, initialised, built from {@code build} on a builder with the tests' defaults. */
    static ComputationGraph graph(DataType type, java.util.function.Consumer<ComputationGraphConfiguration.GraphBuilder> build) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder()
                .seed(12345).dataType(type).updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER)
                .convolutionMode(ConvolutionMode.Truncate).graphBuilder();
        build.accept(b);
        ComputationGraph net = new ComputationGraph(b.build());
        net.init();
        net.paramTable().forEach((key, value) -> {
            if (key.endsWith("_b")) {
                Nd4j.getRandom().setSeed(key.hashCode());
                value.assign(Nd4j.randn(type, value.shape()).muli(0.3));
            }
        });
        return net;
    }

    /** DL4J's own inference outputs, one per network output. */
    static INDArray[] dl4jOutputs(Model net, INDArray[] inputs) {
        if (net instanceof MultiLayerNetwork) {
            return new INDArray[] {((MultiLayerNetwork) net).output(inputs[0], false)};
        }
        return ((ComputationGraph) net).output(false, inputs);
    }

    /** DL4J's training-mode score and gradients (summed over the minibatch), after {@code computeGradientAndScore}. */
    static Gradient dl4jGradient(Model net, INDArray[] inputs, INDArray[] labels) {
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork mln = (MultiLayerNetwork) net;
            mln.setInput(inputs[0]);
            mln.setLabels(labels[0]);
            mln.computeGradientAndScore();
        } else {
            ComputationGraph cg = (ComputationGraph) net;
            cg.setInputs(inputs);
            cg.setLabels(labels);
            cg.computeGradientAndScore();
        }
        return net.gradient();
    }

    /** DL4J's score at inference (no dropout, running statistics), with its regularisation terms. */
    static double dl4jInferenceScore(Model net, INDArray[] inputs, INDArray[] labels) {
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork mln = (MultiLayerNetwork) net;
            return mln.score(new org.nd4j.linalg.dataset.DataSet(inputs[0], labels[0]), false);
        }
        ComputationGraph cg = (ComputationGraph) net;
        return cg.score(new org.nd4j.linalg.dataset.MultiDataSet(inputs, labels), false);
    }

    /** DL4J's score after {@link #dl4jGradient}, with its regularisation terms (as {@code MutableNetwork.score}). */
    static double dl4jScore(Model net) {
        return net.score();
    }

    /**
     * YOLO labels [N, 4+classes, size, size] (or NHWC): in about half the cells an object (corners x1, y1, x2, y2 in grid units
     * around a centre inside the cell, then a one-hot class), zeros elsewhere.
     */
    static INDArray yoloLabels(DataType type, long seed, long n, int classes, int size, boolean nhwc) {
        java.util.Random r = new java.util.Random(seed);
        INDArray out = Nd4j.zeros(type, n, 4 + classes, size, size);
        for (int i = 0; i < n; i++) {
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    if (r.nextBoolean()) {
                        double cx = x + 0.1 + 0.8 * r.nextDouble();
                        double cy = y + 0.1 + 0.8 * r.nextDouble();
                        double w = 0.4 + 1.6 * r.nextDouble();
                        double h = 0.4 + 1.6 * r.nextDouble();
                        out.putScalar(new long[] {i, 0, y, x}, cx - w / 2);
                        out.putScalar(new long[] {i, 1, y, x}, cy - h / 2);
                        out.putScalar(new long[] {i, 2, y, x}, cx + w / 2);
                        out.putScalar(new long[] {i, 3, y, x}, cy + h / 2);
                        out.putScalar(new long[] {i, 4 + r.nextInt(classes), y, x}, 1.0);
                    }
                }
            }
        }
        return nhwc ? out.permute(0, 2, 3, 1).dup('c') : out;
    }

    /** Converts either kind of network. */
    static MutableNetwork convert(Model net, int sequenceLength) {
        if (net instanceof MultiLayerNetwork) {
            MultiLayerNetwork mln = (MultiLayerNetwork) net;
            return sequenceLength > 0 ? MutableNetwork.of(mln, sequenceLength) : MutableNetwork.of(mln);
        }
        ComputationGraph cg = (ComputationGraph) net;
        return sequenceLength > 0 ? MutableNetwork.of(cg, sequenceLength) : MutableNetwork.of(cg);
    }

    /**
     * A description of one test network: how to build it in a data type, and its data.
     *
     * @param dl4jTrainsLikeItInfers false when DL4J's training pass differs from inference (dropout, batch
     *                               statistics): only the inference score is then compared
     * @param dl4jGradientIsExact    false when DL4J's own backprop is an approximation (LRN): gradients are then
     *                               checked by finite differences only
     */
    record Case(String name, Function<DataType, ? extends Model> network, Function<DataType, INDArray[]> inputs,
                Function<DataType, INDArray[]> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput,
                int sequenceLength, boolean dl4jGradientIsExact, String upstreamFedKey,
                java.util.Set<String> stoppedKeys, Function<Model, Model> reference) {

        Case(String name, Function<DataType, ? extends Model> network, Function<DataType, INDArray[]> inputs,
             Function<DataType, INDArray[]> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput,
             int sequenceLength, boolean dl4jGradientIsExact) {
            this(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, sequenceLength,
                    dl4jGradientIsExact, null, java.util.Set.of(), null);
        }

        Case(String name, Function<DataType, MultiLayerNetwork> network, Function<DataType, INDArray> input,
             Function<DataType, INDArray> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput) {
            this(name, network, input, labels, dl4jTrainsLikeItInfers, integerInput, -1);
        }

        Case(String name, Function<DataType, MultiLayerNetwork> network, Function<DataType, INDArray> input,
             Function<DataType, INDArray> labels, boolean dl4jTrainsLikeItInfers, boolean integerInput,
             int sequenceLength) {
            this(name, network, type -> new INDArray[] {input.apply(type)}, type -> new INDArray[] {labels.apply(type)},
                    dl4jTrainsLikeItInfers, integerInput, sequenceLength, true);
        }

        /** A computation graph case whose DL4J training pass equals its inference pass. */
        static Case graph(String name, Function<DataType, ComputationGraph> network,
                          Function<DataType, INDArray[]> inputs, Function<DataType, INDArray[]> labels) {
            return new Case(name, network, inputs, labels, true, false, -1, true);
        }

        /** This case, with DL4J's gradient an approximation (checked by finite differences only). */
        Case withInexactDl4jGradient() {
            return new Case(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, sequenceLength, false,
                    upstreamFedKey, stoppedKeys, reference);
        }

        /**
         * This case, in which DL4J stops the gradient of the parameters with these network keys short of the true
         * derivative (as a {@code FrozenLayer} stops backprop to the layers before it): the finite-difference contract
         * feeds another parameter from upstream and does not check these.
         */
        Case withGradientStoppedAt(String... keys) {
            return new Case(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, sequenceLength,
                    dl4jGradientIsExact, upstreamFedKey, java.util.Set.of(keys), reference);
        }

        /**
         * This case, with parameter {@code key} (not the first) fed from upstream in the finite-difference contract.
         */
        Case feedingUpstream(String key) {
            return new Case(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, sequenceLength,
                    dl4jGradientIsExact, key, stoppedKeys, reference);
        }

        /** This case, for a graph unrolled over {@code steps} time steps. */
        Case withSequenceLength(int steps) {
            return new Case(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, steps,
                    dl4jGradientIsExact, upstreamFedKey, stoppedKeys, reference);
        }

        /** This case, whose DL4J training pass differs from inference (dropout, batch statistics). */
        Case trainingDiffersFromInference() {
            return new Case(name, network, inputs, labels, false, integerInput, sequenceLength, dl4jGradientIsExact,
                    upstreamFedKey, stoppedKeys, reference);
        }

        /** Converts the network as this case requires. */
        /**
         * This case, whose DL4J reference is another network ({@code reference} applied to the case's network, with
         * its parameters): for a DL4J layer that cannot run, the same function in a layer that can.
         */
        Case withReference(Function<Model, Model> referenceNetwork) {
            return new Case(name, network, inputs, labels, dl4jTrainsLikeItInfers, integerInput, sequenceLength,
                    dl4jGradientIsExact, upstreamFedKey, stoppedKeys, referenceNetwork);
        }

        /** The network DL4J computes the expected values with: {@code net}, or its reference. */
        Model dl4jReference(Model net) {
            return reference == null ? net : reference.apply(net);
        }

        MutableNetwork convert(Model net) {
            return Networks.convert(net, sequenceLength);
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
