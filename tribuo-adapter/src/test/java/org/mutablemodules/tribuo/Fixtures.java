package org.mutablemodules.tribuo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.DataSource;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.classification.LabelFactory;
import org.tribuo.data.csv.CSVLoader;
import org.tribuo.evaluation.TrainTestSplitter;

/** Shared data and networks of the tests. */
final class Fixtures {

    /** Seed of every split and trainer in the tests. */
    static final long SEED = 42L;

    private Fixtures() {
    }

    /** The Iris data set (test resource iris.csv; see iris-SOURCE.txt), split 70/30 with {@link #SEED}. */
    static List<MutableDataset<Label>> irisSplit() {
        try {
            Path csv = Path.of(Fixtures.class.getResource("/iris.csv").toURI());
            DataSource<Label> source = new CSVLoader<>(new LabelFactory()).loadDataSource(csv, "species");
            TrainTestSplitter<Label> splitter = new TrainTestSplitter<>(source, 0.7, SEED);
            return List.of(new MutableDataset<>(splitter.getTrain()), new MutableDataset<>(splitter.getTest()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Grouped regression data: each group has a context (features {@code context.a}, {@code context.b}, uniform in
     * [-1, 1]) that sets the coefficients of {@code y = 50 (w(c) . x + b(c)) + 200 + noise} over features
     * {@code x1..x3} (uniform in [-1, 1]): {@code w = (2a, b - 1.5, 2ab)}, {@code b(c) = 0.5 b}, noise N(0, 0.05^2)
     * before scaling. Groups differ in their coefficients, so one shared function of x fits none of them well.
     */
    static MutableDataset<Regressor> grouped(int groups, int perGroup, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        MutableDataset<Regressor> data = new MutableDataset<>(
                new SimpleDataSourceProvenance("grouped coefficients, seed " + seed, new RegressionFactory()),
                new RegressionFactory());
        for (int g = 0; g < groups; g++) {
            double a = rng.nextDouble(-1, 1);
            double b = rng.nextDouble(-1, 1);
            double[] w = {2 * a, b - 1.5, 2 * a * b};
            for (int i = 0; i < perGroup; i++) {
                double[] x = {rng.nextDouble(-1, 1), rng.nextDouble(-1, 1), rng.nextDouble(-1, 1)};
                double y = 0.5 * b + rng.nextGaussian() * 0.05;
                for (int j = 0; j < 3; j++) {
                    y += w[j] * x[j];
                }
                String[] names = {"context.a", "context.b", "x1", "x2", "x3"};
                double[] values = {a, b, x[0], x[1], x[2]};
                data.add(new ArrayExample<>(new Regressor("y", 50 * y + 200), names, values));
            }
        }
        return data;
    }

    /**
     * Two-dimensional regression of very different scales, split 70/30: {@code zeta = 5000 + 800 sin(x1) + 300 x2 x3}
     * and {@code alpha = 0.02 x4 + 0.01 tanh(x1)}, plus small noise, over features {@code x1..x4} uniform in [-2, 2].
     * The names sort as (alpha, zeta), the reverse of the order they are written in.
     */
    static List<MutableDataset<Regressor>> twoScalesSplit(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Example<Regressor>> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] x = new double[4];
            for (int j = 0; j < 4; j++) {
                x[j] = rng.nextDouble(-2, 2);
            }
            double zeta = 5000 + 800 * Math.sin(x[0]) + 300 * x[1] * x[2] + rng.nextGaussian() * 20;
            double alpha = 0.02 * x[3] + 0.01 * Math.tanh(x[0]) + rng.nextGaussian() * 0.001;
            examples.add(new ArrayExample<>(new Regressor(new String[] {"zeta", "alpha"}, new double[] {zeta, alpha}),
                    new String[] {"x1", "x2", "x3", "x4"}, x));
        }
        RegressionFactory factory = new RegressionFactory();
        TrainTestSplitter<Regressor> splitter = new TrainTestSplitter<>(new ListDataSource<>(examples, factory,
                new SimpleDataSourceProvenance("two scales, seed " + seed, factory)), 0.7, seed);
        return List.of(new MutableDataset<>(splitter.getTrain()), new MutableDataset<>(splitter.getTest()));
    }

    /** An MLP {@code nIn -> hidden (tanh) -> nOut} with the given output activation and loss, in FLOAT. */
    static MultiLayerConfiguration mlp(int nIn, int hidden, int nOut, Activation out, LossFunction loss) {
        return new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(nIn).nOut(hidden).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(loss).nIn(hidden).nOut(nOut).activation(out).build())
                .build();
    }

    /** A ComputationGraph {@code nIn -> hidden (tanh) -> nOut (identity, MSE)}, in FLOAT. */
    static ComputationGraphConfiguration graph(int nIn, int hidden, int nOut) {
        return new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).graphBuilder()
                .addInputs("features")
                .addLayer("hidden", new DenseLayer.Builder().nIn(nIn).nOut(hidden).activation(Activation.TANH).build(),
                        "features")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MSE).nIn(hidden).nOut(nOut)
                        .activation(Activation.IDENTITY).build(), "hidden")
                .setOutputs("out")
                .build();
    }
}
