package org.mutablemodules.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.mutablemodules.tribuo.MutableNetworkTrainer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.DataSource;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.evaluation.TrainTestSplitter;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/**
 * A DL4J network as a Tribuo classifier: the Iris CSV (R. A. Fisher's 1936 data, public domain; the copy in this
 * module's resources is scikit-learn's, as Debian packages it) is split 70/30, a DL4J MLP is trained through its
 * converted mutable graph by {@code MutableNetworkTrainer} inside Tribuo's {@code TransformTrainer} (which
 * standardises the features), evaluated with {@code LabelEvaluator}, saved with Tribuo's protobuf serialization,
 * reloaded, and used to predict.
 */
public final class TribuoIris {

    /** Test accuracy, whether the reloaded model predicts exactly as the trained one, and one reloaded prediction. */
    public record Result(double accuracy, boolean sameAfterReload, String firstPrediction) {
    }

    private TribuoIris() {
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
     * @param out where the accuracy and a prediction are printed
     * @return what it measured
     */
    public static Result run(PrintStream out) {
        try {
            Path dir = Files.createTempDirectory("tribuo-iris");
            URL csv = TribuoIris.class.getResource("/iris.csv");
            // README: TribuoIris
            DataSource<Label> iris = new CSVLoader<>(new LabelFactory()).loadDataSource(csv, "species");
            TrainTestSplitter<Label> split = new TrainTestSplitter<>(iris, 0.7, 1L);
            MutableDataset<Label> train = new MutableDataset<>(split.getTrain());
            MutableDataset<Label> test = new MutableDataset<>(split.getTest());

            // Features are numbered by their sorted names: petal_length, petal_width, sepal_length, sepal_width.
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                    .layer(new DenseLayer.Builder().nIn(4).nOut(16).activation(Activation.TANH).build())
                    .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                    .build();
            MutableNetworkTrainer<Label> network = MutableNetworkTrainer.classification(conf)
                    .updater(new Adam(0.02)).epochs(60).minibatchSize(16).seed(1L).build();
            TransformationMap standardise = new TransformationMap(List.of(new MeanStdDevTransformation()));
            Model<Label> model = new TransformTrainer<>(network, standardise).train(train);

            LabelEvaluation evaluation = new LabelEvaluator().evaluate(model, test);
            out.printf("test accuracy %.3f%n", evaluation.accuracy());

            Path file = dir.resolve("iris.tribuo");
            model.serializeToFile(file);                                   // protobuf, no Java serialization
            Model<Label> reloaded = Model.deserializeFromFile(file).castModel(Label.class);
            Prediction<Label> prediction = reloaded.predict(test.getExample(0));
            out.println("reloaded model predicts " + prediction.getOutput().getLabel() + " for " + test.getExample(0));
            // README: end
            boolean same = true;
            List<Prediction<Label>> before = model.predict(test);
            List<Prediction<Label>> after = reloaded.predict(test);
            for (int i = 0; i < before.size(); i++) {
                same &= before.get(i).distributionEquals(after.get(i), 0.0);
            }
            Files.delete(file);
            Files.delete(dir);
            return new Result(evaluation.accuracy(), same, prediction.getOutput().getLabel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
