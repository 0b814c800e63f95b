package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.regression.ImmutableRegressionInfo;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.evaluation.RegressionEvaluation;
import org.tribuo.regression.evaluation.RegressionEvaluator;
import org.tribuo.regression.sgd.linear.LinearSGDTrainer;
import org.tribuo.regression.sgd.objectives.SquaredLoss;

/**
 * Two-dimensional regression with targets five orders of magnitude apart, trained as they come, side by side with
 * Tribuo's linear SGD regression on the same split.
 */
class RegressionTest {

    private static final Logger log = LoggerFactory.getLogger(RegressionTest.class);

    @Test
    void targetsOfAnyScaleTrainInNaturalOrder() {
        List<MutableDataset<Regressor>> split = Fixtures.twoScalesSplit(600, Fixtures.SEED);
        MutableNetworkModel<Regressor> model = MutableNetworkTrainer.regression(
                Fixtures.mlp(4, 32, 2, Activation.IDENTITY, LossFunction.MSE))
                .updater(new Adam(0.01)).epochs(80).minibatchSize(32).seed(Fixtures.SEED).build()
                .train(split.get(0));
        Model<Regressor> linear = new LinearSGDTrainer(new SquaredLoss(), new AdaGrad(1.0, 0.1), 20, Fixtures.SEED)
                .train(split.get(0));
        RegressionEvaluator evaluator = new RegressionEvaluator();
        RegressionEvaluation ours = evaluator.evaluate(model, split.get(1));
        RegressionEvaluation theirs = evaluator.evaluate(linear, split.get(1));
        ImmutableRegressionInfo info = (ImmutableRegressionInfo) split.get(1).getOutputIDInfo();
        for (Regressor dim : info.getDomain()) {
            double std = Math.sqrt(info.getVariance(info.getID(dim)));
            log.info("{}: RMSE {} (MutableNetworkTrainer) vs {} (LinearSGDTrainer), targets' std {}", dim.getNames()[0],
                    ours.rmse(dim), theirs.rmse(dim), std);
            assertTrue(ours.rmse(dim) < 0.25 * std, dim + ": RMSE " + ours.rmse(dim) + ", std " + std);
            // alpha is nearly linear, zeta is not: no worse than the linear model on the first, far better on the
            // second.
            double factor = dim.getNames()[0].equals("zeta") ? 0.5 : 1.0;
            assertTrue(ours.rmse(dim) < factor * theirs.rmse(dim), dim + ": " + ours.rmse(dim) + " vs "
                    + theirs.rmse(dim));
        }
        // Predictions name the dimensions in natural order.
        assertArrayEquals(new String[] {"alpha", "zeta"}, model.predict(split.get(1).getExample(0)).getOutput()
                .getNames());
        // The standardisation is in the provenance: one mean and scale per dimension, in natural order.
        ListProvenance<?> means = (ListProvenance<?>) model.getProvenance().getInstanceProvenance().getMap()
                .get(MutableNetworkTrainer.TARGET_MEANS);
        assertEquals(2, means.getList().size());
        double zetaMean = ((com.oracle.labs.mlrg.olcut.provenance.primitives.DoubleProvenance) means.getList().get(1))
                .getValue();
        assertEquals(5000, zetaMean, 100);
    }
}
