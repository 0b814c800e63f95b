package org.mutablemodules.dl4j;

import java.util.Locale;

/**
 * The messages of this package's checks, in one place (the converters' refusals are made by
 * {@code ConversionContext.unsupported}): each names the input, output, layer, key or file part at fault and what was
 * expected.
 */
final class NetworkMessages {

    static final String BAD_SEQUENCE_LENGTH = "sequenceLength must be at least 1, got %d.";
    static final String NOT_INITIALISED = "The %s has not been initialised: call net.init() before "
            + "MutableNetwork.of(net).";
    static final String LAYER_INDEX_OF_GRAPH = "This network was converted from a ComputationGraph, whose layers have "
            + "names: use param(layerName, key) or param(\"<layer>_<key>\").";
    static final String UNKNOWN_KEY = "No parameter with key \"%s\" exists in this network. Known keys: %s.";
    static final String UNKNOWN_LAYER = "No layer or vertex called \"%s\" exists in this network. Known names: %s.";
    static final String WRONG_BAKE = "This network was converted from a %s: use %s(placeholders).";
    static final String NO_LOSS = "The network has no output layer, so it has no labels and no loss.";
    static final String NOT_ONE = "This network has %d %ss %s: use %s.";
    static final String INPUT_COUNT = "Got %d input array(s); this network has %d input(s): %s.";
    static final String LABELS_COUNT = "Got %d labels array(s); this network has %d output(s): %s.";
    static final String NULL_INPUT = "The array for input \"%s\" is null.";
    static final String NULL_NETWORK = "The network to convert is null.";
    static final String NULL_LABELS = "The labels for output \"%s\" are null; it is an output layer, so its labels are "
            + "needed.";
    static final String LABEL_ROWS = "The labels of output \"%s\" have %d rows but the input has %d examples and the "
            + "output %d rows: the labels need one row per row of the output.";
    static final String SHAPE = "%s has shape %s; this network expects %s (N examples).";
    static final String EXAMPLE_COUNTS = "\"%s\" has %d examples but \"%s\" has %d: every input and labels array needs "
            + "one row per example.";
    static final String MISSING_PLACEHOLDERS = "Values are needed for the placeholders %s: the current parameter "
            + "values are computed from them.";
    static final String BAKED_SHAPE = "Parameter %s has shape %s in the graph but %s in the network.";
    static final String DAMAGED_FILE = "The file's network description is damaged: %s";
    static final String NOT_MUTABLE_IN_FILE = "The file is inconsistent: parameter \"%s\" is not mutable in its graph.";
    static final String UNREADABLE_CONFIGURATION = "The network configuration in the file cannot be read by DL4J: %s";

    static final String CANNOT_TRAIN_AS_DL4J = "MutableNetwork.fit cannot train this network as DL4J's fit would: %s. "
            + "Remove the setting from the configuration before converting, or train the graph with GraphTrainer.";
    static final String NOTHING_TO_TRAIN = "This network has no parameter that DL4J trains (every layer is frozen or "
            + "has none), so there is nothing to fit.";
    static final String CONSTRAINT_ON_MUTATED = "The %s constraint on parameter %s of %s cannot hold: \"%s\" is now "
            + "computed from other variables (it was mutated). Remove the constraint, or reset the parameter.";
    static final String MASK_COUNT = "Got %d %s mask array(s); this network has %d %s (null entries for none).";
    static final String MASK_SHAPE = "%s has shape %s; masks are [N, T] (one value per example and time step) for "
            + "N = %d examples.";
    static final String MASK_VALUES = "%s holds %s at example %d, time step %d; masks hold 1 for the steps present "
            + "and 0 for padding.";
    static final String MASK_LENGTHS = "%s has %d time steps but %s has %d: the masks of one call need the same "
            + "length.";
    static final String MASK_SERIES = "%s has shape %s, but its masks have %d time steps: a masked series needs "
            + "that many along axis %d.";
    static final String MASK_NOT_SERIES = "Got a %s, but masks apply to time series ([N, n, T]) and this %s's "
            + "are not.";
    static final String PER_OUTPUT_MASK_LAYER = "The %s has shape %s, a mask per output; DL4J takes those for "
            + "RnnOutputLayer and RnnLossLayer in NCW format only (it reads them as [N, n, T]), and this output is "
            + "%s. Give a mask per time step, [N, T].";
    static final String PER_OUTPUT_MASK_SHAPE = "The %s has shape %s; a mask per output has the labels' shape, %s.";
    static final String NULL_DATA = "The %s is null.";
    static final String BAD_EPOCHS = "The number of epochs must be at least 1; got %d.";
    static final String NO_RESET = "Training for %d epochs needs an iterator that can be reset; this one cannot "
            + "(resetSupported() is false).";
    static final String MISSING_DATA = "The %s has no %s: fit needs features and labels.";

    private NetworkMessages() {
    }

    static String format(String message, Object... arguments) {
        return String.format(Locale.ROOT, message, arguments);
    }
}
