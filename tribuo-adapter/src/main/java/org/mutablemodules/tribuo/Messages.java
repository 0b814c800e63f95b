package org.mutablemodules.tribuo;

import java.util.Locale;

/** The templates of this module's exception messages, in one place (filled with {@link #format}). */
final class Messages {

    static final String INPUT_WIDTH = "The network configuration takes %d input features, but the dataset has %d "
            + "features%s. Tribuo numbers features by their sorted names: the network's input column j is the j-th "
            + "feature name in sorted order. Set the first layer's nIn to %d.";
    static final String OUTPUT_WIDTH = "The network configuration's output layer has nOut = %d, but the dataset has "
            + "%d %s: %s. Set the output layer's nOut to %d.";
    static final String UNKNOWN_INPUT_WIDTH = "Cannot find the input width of the network configuration: its first "
            + "layer (%s) must be a feed-forward layer with nIn set, or be preceded by a FeedForwardToCnnPreProcessor "
            + "(use setInputType(InputType.feedForward(n)) or InputType.convolutionalFlat(...)).";
    static final String NO_OUTPUT_LAYER = "The network configuration must end in an OutputLayer (a layer with weights, "
            + "an activation and a loss); its last layer is %s.";
    static final String SINGLE_INPUT_OUTPUT = "A ComputationGraph configuration must have exactly one input and one "
            + "output to be trained on Tribuo examples; it has inputs %s and outputs %s.";
    static final String CLASSIFICATION_HEAD = "Classification needs an output layer with a softmax activation and the "
            + "MCXENT or NEGATIVELOGLIKELIHOOD loss; the configuration's output layer %s has activation %s and loss %s.";
    static final String REGRESSION_LOSS = "Regression needs an output layer with the MSE, L2, MAE or L1 loss; the "
            + "configuration's output layer %s has loss %s.";
    static final String LOSS_WEIGHTS = "The output layer %s has a loss with per-output weights, which this trainer "
            + "does not support; remove the weights (use example weights instead).";
    static final String STANDARDISE_IDENTITY = "Standardising regression targets needs an output layer with the "
            + "identity activation (its weights absorb the scale); the output layer %s has activation %s. Use an "
            + "identity activation or set standardiseTargets to false.";
    static final String WRONG_OUTPUT_TYPE = "This trainer was built for %s outputs (%s), but the dataset's outputs "
            + "are %s.";
    static final String UNKNOWN_OUTPUTS = "The dataset contains %d example(s) whose output is unknown (%s); this "
            + "trainer is supervised and needs every example's output.";
    static final String EMPTY_DATASET = "The dataset is empty: there is nothing to train on.";
    static final String OUTPUT_NOT_SEEN = "The output %s was never seen by this model, which knows %s.";
    static final String NO_FEATURES = "The example has no features the model knows (%s); the model's features are "
            + "%s.";
    static final String NON_FINITE_FEATURE = "Example %d has a non-finite value for feature \"%s\" (%s): the network's "
            + "output would be meaningless. Remove or impute it first.";
    static final String MISSING_CONTEXT = "The example lacks the context feature(s) %s; the hypernetwork needs every "
            + "context feature %s to generate the network's weights.";
    static final String NO_CONTEXT_FEATURES = "No feature of the dataset is a context feature: expected %s among the "
            + "dataset's features %s.";
    static final String CONTEXT_WIDTH = "The context vector has %d value(s); the hypernetwork reads %d context "
            + "feature(s): %s.";
    static final String BAD_POSITIVE = "%s must be at least 1, got %d.";
    static final String CONTEXT_NOT_ONCE = "Set exactly one of contextPrefix and contextFeatures; got %s.";
    static final String GRAPH_TARGET = "The hypernetwork's target must be a MultiLayerConfiguration; "
            + "ComputationGraph targets are not supported.";
    static final String NEGATIVE_INVOCATION_COUNT = "The invocation count must not be negative, got %d.";
    static final String UNSUPPORTED_TARGET_LAYER = "Layer %d (%s) comes at or after the first generated parameter, "
            + "so the hypernetwork model computes it itself: it must be a DenseLayer or OutputLayer with a bias, "
            + "without input pre-processor.";
    static final String UNKNOWN_GENERATED = "The network has no parameter %s to generate; its parameters are %s.";
    static final String NOT_A_FILE = "Cannot read the network configuration %s: %s";
    static final String NEITHER_CONFIGURATION = "Set exactly one of networkJson and networkPath; got %s.";
    static final String UPDATER_JSON = "Cannot read the updater JSON %s: %s";

    private Messages() {
    }

    static String format(String template, Object... args) {
        return String.format(Locale.ROOT, template, args);
    }
}
