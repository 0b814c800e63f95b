package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.oracle.labs.mlrg.olcut.config.ConfigurationManager;
import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.ProvenanceUtil;
import com.oracle.labs.mlrg.olcut.provenance.primitives.DoubleProvenance;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.tribuo.Dataset;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.regression.Regressor;

/**
 * Protobuf round trips (Tribuo's {@code Model.serializeToFile} / {@code deserializeFromFile}) with identical
 * predictions and provenance, the trainer rebuilt from a model's provenance, copies, and the trained network as a
 * plain DL4J network.
 */
class SerializationTest {

    @TempDir
    Path dir;

    @Test
    void aClassifierRoundTripsWithIdenticalPredictionsAndProvenance() throws IOException {
        List<MutableDataset<Label>> split = Fixtures.irisSplit();
        MultiLayerConfiguration conf = Fixtures.mlp(4, 8, 3, Activation.SOFTMAX, LossFunction.MCXENT);
        MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(conf)
                .updater(new Adam(0.02)).epochs(10).minibatchSize(16).seed(Fixtures.SEED).build();
        MutableNetworkModel<Label> model = trainer.train(split.get(0));

        NetworkTrainerProvenance provenance = (NetworkTrainerProvenance) model.getProvenance().getTrainerProvenance();
        assertEquals(ProvenanceUtil.hashArray(ProvenanceUtil.HashType.SHA256,
                conf.toJson().getBytes(StandardCharsets.UTF_8)), provenance.networkHash());
        assertTrue(provenance.backend().contains("nd4j"), provenance.backend());
        assertEquals("0.1.0-SNAPSHOT", provenance.libraryVersion());

        Model<?> loaded = roundTrip(model);
        assertInstanceOf(MutableNetworkModel.class, loaded);
        assertEquals(model.getProvenance(), loaded.getProvenance());
        assertSamePredictions(model, loaded.castModel(Label.class), split.get(1), 0.0);
        assertSamePredictions(model, model.copy(), split.get(1), 0.0);
        assertEquals(model.toMultiLayerNetwork().output(features(split.get(1))),
                ((MutableNetworkModel<?>) loaded).toMultiLayerNetwork().output(features(split.get(1))));
        assertEquals(List.of(Model.ALL_OUTPUTS), List.copyOf(model.getTopFeatures(2).keySet()));
        assertEquals(2, model.getTopFeatures(2).get(Model.ALL_OUTPUTS).size());
    }

    @Test
    void theTrainerIsRebuiltFromTheModelsProvenanceAndTrainsTheSameModel() {
        List<MutableDataset<Label>> split = Fixtures.irisSplit();
        MutableNetworkTrainer<Label> trainer = MutableNetworkTrainer.classification(
                Fixtures.mlp(4, 8, 3, Activation.SOFTMAX, LossFunction.MCXENT))
                .updater(new Adam(0.02)).epochs(5).minibatchSize(16).seed(Fixtures.SEED).build();
        trainer.train(split.get(0));                                    // invocation 0
        MutableNetworkModel<Label> second = trainer.train(split.get(0));   // invocation 1

        ConfigurationManager cm = new ConfigurationManager();
        cm.addConfiguration(ProvenanceUtil.extractConfiguration(second.getProvenance().getTrainerProvenance()));
        @SuppressWarnings("unchecked")
        Trainer<Label> rebuilt = (Trainer<Label>) cm.lookup(ProvenanceUtil.computeName(
                second.getProvenance().getTrainerProvenance(), 0));
        Model<Label> again = rebuilt.train(split.get(0), Map.of(), 1);
        assertSamePredictions(second, again, split.get(1), 1e-6);
        MutableNetworkModel<Label> first = trainer.train(split.get(0), Map.of(), 0);
        assertNotEquals(first.predict(split.get(1).getExample(0)).getOutputScores().get("Iris-setosa").getScore(),
                second.predict(split.get(1).getExample(0)).getOutputScores().get("Iris-setosa").getScore());
    }

    @Test
    void aComputationGraphRegressorRoundTrips() throws IOException {
        List<MutableDataset<Regressor>> split = Fixtures.twoScalesSplit(200, 5L);
        MutableNetworkModel<Regressor> model = MutableNetworkTrainer.regression(Fixtures.graph(4, 8, 2))
                .updater(new Adam(0.01)).epochs(5).minibatchSize(32).seed(Fixtures.SEED).build().train(split.get(0));
        assertTrue(model.isComputationGraph());
        MutableNetworkModel<?> loaded = (MutableNetworkModel<?>) roundTrip(model);
        assertSamePredictions(model, loaded.castModel(Regressor.class), split.get(1), 0.0);
        assertEquals(model.toComputationGraph().outputSingle(features(split.get(1))),
                loaded.toComputationGraph().outputSingle(features(split.get(1))));
    }

    @Test
    void aHypernetworkModelRoundTripsAndRecordsTheSpecialisedContext() throws IOException {
        MutableDataset<Regressor> data = Fixtures.grouped(6, 20, 7L);
        HypernetworkModel<Regressor> model = HypernetworkTrainer.regression(
                        Fixtures.mlp(3, 8, 1, Activation.IDENTITY, LossFunction.MSE))
                .contextPrefix("context.").generate("0_W", "1_W").generation(HypernetworkTrainer.Generation.RESIDUAL)
                .hypernetwork(new int[] {4, 4}, Activation.RELU).epochs(3).seed(Fixtures.SEED).build().train(data);
        Model<?> loaded = roundTrip(model);
        assertInstanceOf(HypernetworkModel.class, loaded);
        assertEquals(model.getProvenance(), loaded.getProvenance());
        assertSamePredictions(model, loaded.castModel(Regressor.class), data, 0.0);
        assertSamePredictions(model, model.copy(), data, 0.0);
        assertEquals(List.of("context.a", "context.b"), model.contextFeatures());
        assertEquals(List.of("CONTEXT", Model.ALL_OUTPUTS).size(), model.getTopFeatures(-1).size());

        MutableNetworkModel<Regressor> one = model.specialize(Map.of("context.a", 0.25, "context.b", -0.5));
        ListProvenance<?> context = (ListProvenance<?>) one.getProvenance().getInstanceProvenance().getMap()
                .get(HypernetworkModel.SPECIALISED_CONTEXT);
        DoubleProvenance a = (DoubleProvenance) context.getList().get(0);
        DoubleProvenance b = (DoubleProvenance) context.getList().get(1);
        assertEquals(List.of("context.a", 0.25, "context.b", -0.5), List.of(a.getKey(), a.getValue(), b.getKey(),
                b.getValue()));
        MutableNetworkModel<?> oneLoaded = (MutableNetworkModel<?>) roundTrip(one);
        assertEquals(one.getProvenance(), oneLoaded.getProvenance());
        assertEquals(3, one.getFeatureIDMap().size());
    }

    private Model<?> roundTrip(Model<?> model) throws IOException {
        Path file = dir.resolve(model.getName() + ".tribuo");
        model.serializeToFile(file);
        return Model.deserializeFromFile(file);
    }

    private static org.nd4j.linalg.api.ndarray.INDArray features(Dataset<?> data) {
        return FeatureMatrix.of(data.getData(), data.getFeatureIDMap(),
                FeatureMatrix.Columns.allInputs(data.getFeatureIDMap()),
                org.nd4j.linalg.api.buffer.DataType.FLOAT).blocks[0];
    }

    static <T extends Output<T>> void assertSamePredictions(Model<T> expected, Model<T> actual, Dataset<T> data,
                                                            double tolerance) {
        List<Prediction<T>> a = expected.predict(data);
        List<Prediction<T>> b = actual.predict(data);
        for (int i = 0; i < a.size(); i++) {
            assertTrue(a.get(i).getOutput().fullEquals(b.get(i).getOutput(), tolerance)
                    && a.get(i).distributionEquals(b.get(i), tolerance), "example " + i + ": " + a.get(i) + " vs "
                    + b.get(i));
        }
    }
}
