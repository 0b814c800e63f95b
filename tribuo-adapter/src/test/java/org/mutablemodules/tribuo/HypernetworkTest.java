package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.regression.ImmutableRegressionInfo;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.evaluation.RegressionEvaluator;

/**
 * Hypernetwork-conditioned models on grouped data whose groups have different coefficients: against one shared
 * network on groups never seen in training, and per-example predictions against the specialised plain networks.
 */
class HypernetworkTest {

    private static final Logger log = LoggerFactory.getLogger(HypernetworkTest.class);
    private static final Regressor Y = new Regressor("y", Double.NaN);

    @Test
    void beatsOneSharedNetworkOnUnseenContexts() {
        MutableDataset<Regressor> train = Fixtures.grouped(32, 30, 1L);
        MutableDataset<Regressor> unseen = Fixtures.grouped(10, 30, 2L);
        // The target is a linear model of x whose coefficients the hypernetwork generates from each group's context.
        MultiLayerConfiguration linear = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(3).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build();
        HypernetworkModel<Regressor> hyper = HypernetworkTrainer.regression(linear)
                .contextPrefix("context.")
                .hypernetwork(new int[] {32}, Activation.TANH)
                .updater(new Adam(0.01)).epochs(60).minibatchSize(32).seed(Fixtures.SEED).build()
                .train(train);
        // The shared network sees the context features as ordinary inputs, with twice the hidden units.
        MutableNetworkModel<Regressor> shared = MutableNetworkTrainer.regression(
                Fixtures.mlp(5, 32, 1, Activation.IDENTITY, LossFunction.MSE))
                .updater(new Adam(0.01)).epochs(60).minibatchSize(32).seed(Fixtures.SEED).build()
                .train(train);
        RegressionEvaluator evaluator = new RegressionEvaluator();
        double ours = evaluator.evaluate(hyper, unseen).rmse(Y);
        double theirs = evaluator.evaluate(shared, unseen).rmse(Y);
        double spread = Math.sqrt(((ImmutableRegressionInfo) unseen.getOutputIDInfo()).getVariance(0));
        log.info("Unseen contexts, RMSE: hypernetwork {}, one shared network {} (targets' std {}, noise 2.5)", ours,
                theirs, spread);
        assertTrue(ours < 0.8 * theirs, ours + " vs " + theirs);
        assertTrue(ours < 0.1 * spread, "RMSE " + ours + ", std " + spread);
    }

    static Stream<IActivation> hiddenActivations() {
        return Stream.of(new ActivationTanH(), new ActivationELU(0.5), new ActivationLReLU(0.3), new ActivationSELU(),
                new ActivationReLU6(), new ActivationSoftSign());
    }

    /**
     * The per-example graph computes the generated layers itself with the DL4J adapter's activation functions; the
     * specialised model is a plain DL4J network. They agree for every activation, ELU with alpha 0.5 included (the
     * features reach the negative side).
     */
    @ParameterizedTest
    @MethodSource("hiddenActivations")
    void eachExampleIsPredictedWithTheWeightsOfItsOwnContext(IActivation hidden) {
        MutableDataset<Regressor> train = Fixtures.grouped(12, 20, 3L);
        MultiLayerConfiguration target = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(8).activation(hidden).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(8).nOut(1).activation(Activation.IDENTITY)
                        .build())
                .build();
        HypernetworkModel<Regressor> model = HypernetworkTrainer.regression(target)
                .contextFeatures("context.a", "context.b")
                .hypernetwork(new int[] {8}, Activation.TANH)
                .updater(new Adam(0.01)).epochs(5).minibatchSize(16).seed(Fixtures.SEED).build()
                .train(train);
        List<Prediction<Regressor>> batch = model.predict(train);
        for (int i = 0; i < train.size(); i += 37) {
            Example<Regressor> e = train.getExample(i);
            MutableNetworkModel<Regressor> one = model.specialize(Map.of(
                    "context.a", value(e, "context.a"), "context.b", value(e, "context.b")));
            double alone = one.predict(e).getOutput().getValues()[0];
            assertEquals(batch.get(i).getOutput().getValues()[0], alone, 1e-3 * Math.max(1, Math.abs(alone)),
                    "example " + i);
        }
    }

    static double value(Example<?> e, String feature) {
        for (org.tribuo.Feature f : e) {
            if (f.getName().equals(feature)) {
                return f.getValue();
            }
        }
        throw new IllegalArgumentException(feature);
    }
}
