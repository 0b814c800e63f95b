package org.mutablemodules.tribuo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/** Classification on the Iris CSV, side by side with Tribuo's logistic regression on the same split. */
class ClassificationTest {

    private static final Logger log = LoggerFactory.getLogger(ClassificationTest.class);

    @Test
    void irisAccuracyMatchesLogisticRegression() {
        List<MutableDataset<Label>> split = Fixtures.irisSplit();
        MutableNetworkTrainer<Label> network = MutableNetworkTrainer.classification(
                Fixtures.mlp(4, 16, 3, Activation.SOFTMAX, LossFunction.MCXENT))
                .updater(new Adam(0.02)).epochs(60).minibatchSize(16).seed(Fixtures.SEED).build();
        TransformationMap standardise = new TransformationMap(List.of(new MeanStdDevTransformation()));
        Model<Label> model = new TransformTrainer<>(network, standardise).train(split.get(0));
        Model<Label> baseline = new TransformTrainer<>(new LogisticRegressionTrainer(), standardise).train(split.get(0));
        LabelEvaluation ours = new LabelEvaluator().evaluate(model, split.get(1));
        LabelEvaluation theirs = new LabelEvaluator().evaluate(baseline, split.get(1));
        log.info("Iris test accuracy: MutableNetworkTrainer {}, LogisticRegressionTrainer {}", ours.accuracy(),
                theirs.accuracy());
        assertTrue(ours.accuracy() >= 0.9, "accuracy " + ours.accuracy());
        assertTrue(ours.accuracy() >= theirs.accuracy() - 0.05, ours.accuracy() + " vs " + theirs.accuracy());
    }
}
