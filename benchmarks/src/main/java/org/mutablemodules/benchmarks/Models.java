package org.mutablemodules.benchmarks;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Map;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.MutableGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/** The models and data the benchmarks share; all FLOAT, fixed seeds. */
final class Models {

    static final int BATCH = 128;

    private Models() {
    }

    /**
     * A hypernetwork graph ready to train with Adam(1e-4): {@code sine}, the main job's one-task graph (task [1, 2]
     * -> 64 tanh -> all 1,761 weights of a converted DL4J MLP 1-40-40-1, on 50 points), or {@code mlp784} (task ->
     * 32 tanh -> the 203,530 weights of the MLP 784-256-10, on a batch of 128). The feed holds the input, the task
     * placeholder "task" and the labels.
     */
    record Hypernetwork(SameDiff sd, String loss, MultiDataSet batch, Map<String, INDArray> feed) {
    }

    static Hypernetwork hypernetwork(String model) {
        INDArray task = Nd4j.createFromArray(new float[][] {{0.3f, -0.7f}});
        SameDiff sd;
        String input;
        String labels;
        String loss;
        String[] generated;
        int hidden;
        INDArray x;
        INDArray y;
        if ("sine".equals(model)) {
            MutableNetwork m = MutableNetwork.of(sineMlp());
            sd = m.graph().sameDiff();
            input = m.inputName();
            labels = m.labelName();
            loss = m.lossName();
            generated = m.graph().parameterNames().toArray(new String[0]);
            hidden = 64;
            x = Nd4j.linspace(-Math.PI, Math.PI, 50, DataType.FLOAT).reshape(50, 1);
            y = Transforms.sin(x.add(0.5));
        } else {
            sd = sameDiffMlp();
            input = "x";
            labels = "y";
            loss = "loss";
            generated = new String[] {"W1", "b1", "W2", "b2"};
            hidden = 32;
            x = features(BATCH, 784);
            y = oneHot(BATCH, 10);
        }
        MutableGraph g = MutableGraph.of(sd, generated);
        long size = g.flatSize(generated);
        Nd4j.getRandom().setSeed(3);
        SDVariable t = sd.placeHolder("task", DataType.FLOAT, 1, 2);
        SDVariable h = sd.math().tanh(t.mmul(sd.var("hyper/W1", Nd4j.randn(DataType.FLOAT, 2, hidden)))
                .add(sd.var("hyper/b1", Nd4j.zeros(DataType.FLOAT, hidden))));
        SDVariable flat = h.mmul(sd.var("hyper/W2", Nd4j.randn(DataType.FLOAT, hidden, size).muli(0.01)))
                .add(sd.var("hyper/b2", Nd4j.randn(DataType.FLOAT, size).muli(0.05)));
        g.setFromFlat(flat, generated);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-4))
                .dataSetFeatureMapping(input, "task").dataSetLabelMapping(labels).build());
        return new Hypernetwork(sd, loss, new MultiDataSet(new INDArray[] {x, task}, new INDArray[] {y}),
                Map.of(input, x, "task", task, labels, y));
    }

    /** SameDiff MLP 784-256-10 (relu, softmax cross-entropy), placeholders "x" and "y", loss "loss". */
    static SameDiff sameDiffMlp() {
        return sameDiffMlp(false);
    }

    /**
     * The same MLP; with {@code weightsFedByHand}, W1 and W2 are {@code U_W1 * 1} and {@code U_W2 * 1} (U trainable),
     * built by hand in plain SameDiff: what a mutable graph computes after {@code param(w).set(u.mul(1.0))}, without
     * the library.
     */
    static SameDiff sameDiffMlp(boolean weightsFedByHand) {
        Nd4j.getRandom().setSeed(1);
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 784);
        SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, 10);
        SDVariable w1 = sd.var(weightsFedByHand ? "U_W1" : "W1", Nd4j.randn(DataType.FLOAT, 784, 256).muli(0.05));
        SDVariable b1 = sd.var("b1", Nd4j.zeros(DataType.FLOAT, 256));
        SDVariable w2 = sd.var(weightsFedByHand ? "U_W2" : "W2", Nd4j.randn(DataType.FLOAT, 256, 10).muli(0.05));
        if (weightsFedByHand) {
            w1 = w1.mul(1.0);
            w2 = w2.mul(1.0);
        }
        SDVariable b2 = sd.var("b2", Nd4j.zeros(DataType.FLOAT, 10));
        SDVariable logits = sd.nn().relu(x.mmul(w1).add(b1), 0).mmul(w2).add("out", b2);
        sd.loss().softmaxCrossEntropy("loss", y, logits, null);
        sd.setLossVariables("loss");
        return sd;
    }

    /** The main job's DL4J MLP 1-40-40-1 (tanh, identity output, MSE), FLOAT. */
    static MultiLayerNetwork sineMlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(1).nOut(40).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(40).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(1)).build());
        net.init();
        return net;
    }

    /** DL4J MLP 784-256-10 (relu, softmax MCXENT), SGD. */
    static MultiLayerNetwork dl4jMlp() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).updater(new Sgd(0.01)).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(784)).build());
        net.init();
        return net;
    }

    /** DL4J LeNet-like CNN on 28x28 grey images (flat input), SGD. */
    static MultiLayerNetwork dl4jCnn() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
                .dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).updater(new Sgd(0.01)).list()
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(20).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(50).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(500).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1)).build());
        net.init();
        return net;
    }

    static INDArray features(int batch, long width) {
        Nd4j.getRandom().setSeed(2);
        return Nd4j.rand(DataType.FLOAT, batch, width);
    }

    static INDArray oneHot(int batch, int classes) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % classes, 1f);
        }
        return y;
    }

    /** Runs {@code body} with standard output discarded (ND4J prints a line per op while building gradients). */
    static void quietly(Runnable body) {
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            body.run();
        } finally {
            System.setOut(out);
        }
    }
}
