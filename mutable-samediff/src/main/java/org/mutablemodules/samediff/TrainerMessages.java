package org.mutablemodules.samediff;

/** The error messages of {@link GraphTrainer}, in one place so they stay consistent (formatted by {@link Messages}). */
final class TrainerMessages {

    static final String NO_UPDATER =
            "No updater was set: call updater(...) on the builder, for example updater(new Adam(1e-3)).";
    static final String NO_LOSS_SET =
            "No loss was named and the graph has %s loss variables (%s): name one with loss(\"name\").";
    static final String UNKNOWN_LOSS = "No variable named \"%s\" exists in this graph%s, so it cannot be the loss.";
    static final String LOSS_NOT_FLOATING_POINT =
            "The loss \"%s\" is of data type %s: a loss must be a floating-point scalar.";
    static final String LOSS_NOT_SCALAR =
            "The loss \"%s\" has shape %s: a loss must be a single number. Reduce it first (mean() or sum()).";
    static final String NOTHING_TRAINABLE =
            "The loss \"%s\" depends on no trainable floating-point VARIABLE, so there is nothing to train. "
                    + "Variables it reads: %s.";
    static final String UNKNOWN_TRAINED =
            "\"%s\" cannot be trained with the loss \"%s\": it is not a trainable floating-point VARIABLE that the "
                    + "loss depends on. Trainable variables the loss depends on: %s.";
    static final String NULL_FEED = "The feed (placeholder values) is null; pass Map.of() when none are needed.";
    static final String NOT_A_PLACEHOLDER =
            "\"%s\" is not a placeholder of this graph%s, so it cannot be fed. Placeholders: %s.";
    static final String NULL_PLACEHOLDER = "The array for placeholder \"%s\" is null.";
    static final String MISSING_PLACEHOLDERS =
            "Values are needed for the placeholders %s to compute the loss \"%s\"; the feed has %s.";
    static final String NON_FINITE_LOSS =
            "The loss \"%s\" came out %s at iteration %d; the parameters were not updated. Lower the updater's "
                    + "learning rate, or check the inputs.";
    static final String BAD_STEPS = "The number of steps must be at least 0; got %d.";
    static final String NULL_FEEDS = "The feed supplier returned null at step %d of %d.";
    static final String BAD_INTERVAL = "The logging interval must be at least 0 steps (0: no logging); got %d.";

    private TrainerMessages() {
    }
}
