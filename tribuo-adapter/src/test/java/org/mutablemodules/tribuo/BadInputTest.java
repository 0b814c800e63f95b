package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.Regressor;

/** Every documented failure: the exception type, and a message that names what was expected. */
class BadInputTest {

    private static List<MutableDataset<Label>> iris;
    private static HypernetworkModel<Regressor> hyper;
    private static MutableNetworkModel<Label> classifier;

    @BeforeAll
    static void train() {
        iris = Fixtures.irisSplit();
        classifier = MutableNetworkTrainer.classification(Fixtures.mlp(4, 4, 3, Activation.SOFTMAX,
                LossFunction.MCXENT))
                        .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(Fixtures.SEED)
                        .build().train(iris.get(0));
        hyper = HypernetworkTrainer.regression(Fixtures.mlp(3, 4, 1, Activation.IDENTITY, LossFunction.MSE))
                .contextPrefix("context.").epochs(1).build().train(Fixtures.grouped(3, 10, 1L));
    }

    private static void assertMessage(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "\"" + part + "\" not in: " + e.getMessage());
        }
    }

    @Test
    void aConfigurationWhoseInputWidthDiffersNamesTheFeatureCount() {
        MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(Fixtures.mlp(5, 4, 3,
                Activation.SOFTMAX, LossFunction.MCXENT))
                        .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(Fixtures.SEED).build();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> trainer.train(iris.get(0))),
                "takes 5 input features", "dataset has 4 features", "sorted names", "nIn to 4");
    }

    @Test
    void aConfigurationWhoseOutputWidthDiffersNamesTheLabels() {
        MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(Fixtures.mlp(4, 4, 2,
                Activation.SOFTMAX, LossFunction.MCXENT))
                        .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(Fixtures.SEED).build();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> trainer.train(iris.get(0))),
                "nOut = 2", "3 labels", "Iris-setosa", "nOut to 3");
    }

    /** A generated layer's activation that the DL4J adapter cannot express is refused by layer and name. */
    @Test
    void aGeneratedLayersActivationWithoutAConversionIsRefusedByName() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HypernetworkTrainer.regression(
                Fixtures.mlp(3, 4, 1, Activation.IDENTITY, LossFunction.MSE)).contextPrefix("context.")
                .hypernetwork(new int[] {4}, Activation.GELU).build()), "The hypernetwork", "gelu", "Supported:");
        org.deeplearning4j.nn.conf.MultiLayerConfiguration target = Fixtures.mlp(3, 4, 1, Activation.IDENTITY,
                LossFunction.MSE);
        ((org.deeplearning4j.nn.conf.layers.BaseLayer) target.getConf(0).getLayer())
                .setActivationFn(new org.nd4j.linalg.activations.impl.ActivationThresholdedReLU(0.5));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HypernetworkTrainer.regression(target)
                .contextPrefix("context.").build()), "Layer 0", "thresholdedrelu", "Supported:");
    }

    @Test
    void aHypernetworkTargetMustReadTheNonContextFeatures() {
        HypernetworkTrainer<Regressor> trainer = HypernetworkTrainer.regression(Fixtures.mlp(5, 4, 1,
                Activation.IDENTITY, LossFunction.MSE)).contextPrefix("context.").epochs(1).build();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> trainer.train(Fixtures.grouped(2, 5, 1L))),
                "takes 5 input features", "3 features that are not context features");
    }

    @Test
    void aClassifierNeedsASoftmaxCrossEntropyHead() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> MutableNetworkTrainer.classification(
                Fixtures.mlp(4, 4, 3, Activation.IDENTITY, LossFunction.MSE))
                .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(1L).build()),
                "softmax", "MCXENT", "layer 1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> MutableNetworkTrainer.regression(
                Fixtures.mlp(4, 4, 1, Activation.SIGMOID, LossFunction.MSE))
                .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(1L).build()),
                "identity activation", "standardiseTargets");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> MutableNetworkTrainer.classification(
                Fixtures.mlp(4, 4, 3, Activation.SOFTMAX, LossFunction.MCXENT))
                .updater(new Adam(0.01)).epochs(0).minibatchSize(32).seed(1L).build()),
                "epochs must be at least 1");
    }

    @Test
    void regressionDataForAClassifierIsRefused() {
        MutableNetworkTrainer<Regressor> wrong = MutableNetworkTrainer.<Regressor>fromJsonFile(
                OutputKind.LABEL, writeJson(Fixtures.mlp(5, 4, 2, Activation.SOFTMAX, LossFunction.MCXENT).toJson()))
                .updater(new Adam(0.01)).epochs(1).minibatchSize(32).seed(1L).build();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> wrong.train(Fixtures.grouped(2, 5, 1L))),
                "LABEL", "Regressor");
    }

    @Test
    void missingContextFeaturesAreNamed() {
        ArrayExample<Regressor> noContext = new ArrayExample<>(new Regressor("y", 0), new String[] {"context.a",
            "x1", "x2", "x3"}, new double[] {0.5, 1, 2, 3});
        assertMessage(assertThrows(IllegalArgumentException.class, () -> hyper.predict(noContext)),
                "[context.b]", "[context.a, context.b]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> hyper.specialize(Map.of("context.a", 1.0))),
                "[context.b]");
        HypernetworkTrainer<Regressor> listed = HypernetworkTrainer.regression(Fixtures.mlp(2, 4, 1,
                Activation.IDENTITY, LossFunction.MSE)).contextFeatures("context.a", "context.z").epochs(1).build();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> listed.train(Fixtures.grouped(2, 5, 1L))),
                "[context.z]", "x1");
    }

    @Test
    void anOutputTheModelNeverSawIsNamed() {
        MutableDataset<Label> other = new MutableDataset<>(new SimpleDataSourceProvenance("unseen", new LabelFactory()),
                new LabelFactory());
        other.add(new ArrayExample<>(new Label("Iris-unknown"), new String[] {"petal_length", "petal_width",
            "sepal_length", "sepal_width"}, new double[] {1, 1, 1, 1}));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> classifier.loss(other)),
                "Iris-unknown", "never seen", "Iris-setosa");
    }

    @Test
    void anExampleWithoutKnownFeaturesIsRefused() {
        ArrayExample<Label> stranger = new ArrayExample<>(new Label("Iris-setosa"), new String[] {"colour"},
                new double[] {1});
        assertMessage(assertThrows(IllegalArgumentException.class, () -> classifier.predict(stranger)),
                "no features the model knows", "petal_length");
    }

    @Test
    void aNonFiniteFeatureValueIsRefusedByName() {
        ArrayExample<Label> nan = new ArrayExample<>(new Label("Iris-setosa"),
                new String[] {"petal_length", "petal_width", "sepal_length", "sepal_width"},
                new double[] {1.4, Double.NaN, 5.1, 3.5});
        assertMessage(assertThrows(IllegalArgumentException.class, () -> classifier.predict(nan)),
                "\"petal_width\"", "NaN", "Example 0");
        // Training never sees one: Tribuo's datasets refuse examples with NaN values when they are added.
    }

    @Test
    void generatingAnUnknownParameterOrAnUnsupportedLayerIsRefused() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HypernetworkTrainer.regression(
                Fixtures.mlp(3, 4, 1, Activation.IDENTITY, LossFunction.MSE)).contextPrefix("c").generate("7_W")
                .build()), "7_W", "0_W");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HypernetworkTrainer.regression(
                Fixtures.mlp(3, 4, 1, Activation.IDENTITY, LossFunction.MSE)).build()), "contextPrefix");
    }

    private static java.nio.file.Path writeJson(String json) {
        try {
            java.nio.file.Path file = java.nio.file.Files.createTempFile("network", ".json");
            file.toFile().deleteOnExit();
            java.nio.file.Files.writeString(file, json);
            return file;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
