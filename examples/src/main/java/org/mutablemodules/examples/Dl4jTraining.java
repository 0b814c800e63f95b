package org.mutablemodules.examples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.mutablemodules.dl4j.MutableNetwork;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * A converted network trained and evaluated the DL4J way: {@code fit} over an iterator for several epochs with the
 * configuration's per-layer updaters, L2 and gradient clipping, a DL4J listener, {@code evaluate}, then the trained
 * values baked back into a plain DL4J network, which scores the same. One weight is edited before training, to show
 * that a mutated network trains as well.
 */
public final class Dl4jTraining {

    /** Accuracy before and after training, the baked network's accuracy, and the last training score. */
    public record Result(double accuracyBefore, double accuracyAfter, double bakedAccuracy, double lastScore) {
    }

    private Dl4jTraining() {
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
     * @return what the example measured
     */
    public static Result run(PrintStream out) {
        List<DataSet> train = blobs(20, 1);
        List<DataSet> test = blobs(5, 2);
        // README: dl4jtraining
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3)
                .updater(new Adam(0.01)).l2(1e-4)
                .gradientNormalization(GradientNormalization.ClipL2PerLayer).gradientNormalizationThreshold(1.0)
                .list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(16).activation(Activation.RELU)
                        .biasUpdater(new Sgd(0.05)).build())      // a layer's own bias updater
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();

        MutableNetwork m = MutableNetwork.of(net);
        m.param(0, "W").muli(0.5);                                 // an edit; training goes on from it
        m.setListeners(new ScoreIterationListener(20));             // DL4J's own listeners
        double before = m.evaluate(new ListDataSetIterator<>(test, 1)).accuracy();
        m.fit(new ListDataSetIterator<>(train, 1), 5);             // 5 epochs, as net.fit(iterator, 5) would
        Evaluation evaluation = m.evaluate(new ListDataSetIterator<>(test, 1));
        out.println(evaluation.stats());
        MultiLayerNetwork trained = m.toMultiLayerNetwork(Map.of());   // a plain DL4J network again
        // README: end
        double baked = trained.evaluate(new ListDataSetIterator<>(test, 1)).accuracy();
        out.printf("accuracy before training %.3f, after %.3f (baked network: %.3f); last score %.4f after %d steps%n",
                before, evaluation.accuracy(), baked, m.score(), m.iterationCount());
        return new Result(before, evaluation.accuracy(), baked, m.score());
    }

    /** Three Gaussian blobs in four dimensions, as minibatches of 16 one-hot labelled examples. */
    static List<DataSet> blobs(int batches, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray centres = Nd4j.createFromArray(new float[][] {{2, 0, 0, 1}, {-1, 2, 0, -1}, {0, -2, 2, 0}});
        List<DataSet> data = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            INDArray classes = Nd4j.rand(DataType.FLOAT, 16).muli(3);
            INDArray x = Nd4j.randn(DataType.FLOAT, 16, 4);
            INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 3);
            for (int i = 0; i < 16; i++) {
                int c = Math.min(2, (int) classes.getDouble(i));
                x.getRow(i).addi(centres.getRow(c));
                y.putScalar(i, c, 1);
            }
            data.add(new DataSet(x, y));
        }
        return data;
    }
}
