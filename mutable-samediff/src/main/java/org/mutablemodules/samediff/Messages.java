package org.mutablemodules.samediff;

import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.commons.text.similarity.LevenshteinDistance;

/** The error messages of this package, in one place so they stay consistent. */
final class Messages {

    static final String UNKNOWN_PARAMETER =
            "No parameter named \"%s\" exists in this graph%s. Known parameters: %s.";
    static final String NO_VARIABLE = "No variable named \"%s\" exists in this graph.";
    static final String TRAINER_OF_ANOTHER_GRAPH =
            "The trainer given to save trains another graph; save a graph with a trainer built for it.";
    static final String NOT_TRAINABLE =
            "\"%s\" is a %s variable, not a trainable VARIABLE: only trainable floating-point VARIABLEs can be made mutable.";
    static final String IS_INITIAL_VALUE =
            "\"%s\" is the initial value of the mutable parameter \"%s\"; change the parameter through param(\"%s\") instead.";
    static final String CONSTANT_NOT_ACCEPTED =
            "\"%s\" is a CONSTANT, not a trainable VARIABLE: of(sd, names) makes trainable VARIABLEs mutable. "
                    + "Use MutableGraph.withConstants(sd, \"%s\") to make the constant mutable with its value kept "
                    + "fixed, or sd.convertToVariable(...) first to train it.";
    static final String NOT_PARAMETER_OR_CONSTANT =
            "\"%s\" is a %s variable: only floating-point VARIABLEs and CONSTANTs can be made mutable.";
    static final String NO_SUCH_PARAMETER_OR_CONSTANT =
            "No variable named \"%s\" exists in the SameDiff graph%s. Floating-point VARIABLEs and CONSTANTs: %s.";
    static final String NOT_FLOATING_POINT =
            "\"%s\" is a %s of data type %s: only floating-point parameters can be made mutable.";
    static final String NO_SUCH_VARIABLE =
            "No variable named \"%s\" exists in the SameDiff graph%s. Trainable VARIABLEs: %s.";
    static final String OTHER_SAMEDIFF =
            "Cannot use \"%s\" for parameter \"%s\": it belongs to another SameDiff instance. Build the value in this graph (mutableGraph.sameDiff()).";
    static final String WRONG_DATA_TYPE =
            "Cannot use %s of data type %s for parameter \"%s\" of data type %s. Cast it first (castTo(DataType.%s)).";
    static final String WRONG_SHAPE =
            "Cannot use %s of shape %s for parameter \"%s\": expected shape %s.";
    static final String NOT_BROADCASTABLE =
            "Cannot %s parameter \"%s\" of shape %s with an operand of shape %s: the result must keep the parameter's shape %s.";
    static final String CYCLE =
            "Cannot use \"%s\" for parameter \"%s\": it is computed from \"%s\" itself, so the graph would contain a cycle. "
                    + "To compute a new value from the current one, use param(\"%s\").apply(v -> ...), which passes the value before the change.";
    static final String NULL_RESULT = "The function given to apply(...) on parameter \"%s\" returned null; it must return an SDVariable.";
    static final String FLAT_LENGTH =
            "Cannot split a flat tensor of %d elements into %s: they need %d elements in all.";
    static final String FLAT_RANK =
            "Cannot split \"%s\" of shape %s: a flat tensor must have shape [n] or [1, n].";
    static final String EMPTY_NAMES = "Name at least one parameter.";
    static final String DUPLICATE_NAME = "Parameter \"%s\" is named more than once.";
    static final String NO_VARIABLES_REQUESTED = "Name at least one variable for %s.";
    static final String UNKNOWN_VARIABLE = "No variable named \"%s\" exists in this graph%s.";
    static final String NOT_A_PLACEHOLDER =
            "\"%s\" is not a placeholder of this graph%s, so it cannot be fed. Placeholders: %s.";
    static final String NULL_PLACEHOLDER = "The array for placeholder \"%s\" is null.";
    static final String PLACEHOLDER_DATA_TYPE =
            "Placeholder \"%s\" was given an array of data type %s; it expects %s. Cast it first (castTo(DataType.%s)).";
    static final String PLACEHOLDER_SHAPE =
            "Placeholder \"%s\" was given an array of shape %s; it expects %s (\"any\": any size).";
    static final String MISSING_PLACEHOLDERS = "Values are needed for the placeholders %s to compute %s.";
    static final String NON_FINITE_INPUT =
            "Placeholder \"%s\" holds a non-finite value (%s); the finite check (checkFinite) refuses NaN and infinite inputs.";
    static final String NON_FINITE_RESULT =
            "\"%s\" came out non-finite (%s) from finite inputs. Parameters or constants holding non-finite values: %s; "
                    + "otherwise an op overflowed or divided by zero (a log of 0, a learning rate too large).";
    static final String NON_FINITE_VALUE =
            "Cannot %s parameter \"%s\" with a non-finite value (%s): the finite check (checkFinite) is on.";
    static final String NO_LOSS =
            "This graph has no loss variable: set one with sd.setLossVariables(...) before asking for gradients.";
    static final String STALE_PARAMETER =
            "The handle of parameter \"%s\" is stale: %s, so the graph was changed outside this library (renamed or "
                    + "removed variables, or a different graph). Get a current handle with MutableGraph.of(sd).param(...).";
    static final String STALE_OPERAND =
            "Cannot use \"%s\" for parameter \"%s\": it is no longer a variable of this graph (it was removed or "
                    + "renamed, or the change that created it was undone).";

    // GraphTrainer's
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
    static final String MISSING_LOSS_PLACEHOLDERS =
            "Values are needed for the placeholders %s to compute the loss \"%s\"; the feed has %s.";
    static final String NON_FINITE_LOSS =
            "The loss \"%s\" came out %s at iteration %d; the parameters were not updated. Lower the updater's "
                    + "learning rate, or check the inputs.";
    static final String UNKNOWN_TRAINED_NAME =
            "The trainer was given settings for \"%s\", which is not a variable of this graph%s.";
    static final String NOT_A_VARIABLE = "\"%s\" is not a trainable VARIABLE of this graph (%s): only VARIABLEs' values "
            + "can be set.";
    static final String VALUE_MISMATCH = "The value given for \"%s\" is %s %s; the variable is %s %s.";
    static final String GRADIENT_MISMATCH = "The gradient given for \"%s\" has shape %s; the variable's is %s.";
    static final String NOT_TRAINED = "\"%s\" is not a variable this trainer trains; it trains %s.";
    static final String BAD_START = "Training counts must be at least 0; got iteration %d and epoch %d.";
    static final String STATE_SHAPE = "The updater state array \"%s\" given for \"%s\" has shape %s; the parameter's "
            + "shape is %s.";
    static final String BAD_CLIPPING_THRESHOLD = "A clipping threshold must be positive and finite; got %s.";
    static final String BAD_STEPS = "The number of steps must be at least 0; got %d.";
    static final String NULL_FEEDS = "The feed supplier returned null at step %d of %d.";
    static final String BAD_INTERVAL = "The logging interval must be at least 0 steps (0: no logging); got %d.";
    static final String PLAN_DIFFERS = "The execution plan's result for \"%s\" differs from SameDiff's session "
            + "(mutablemodules.planCheck=strict): %s.";


    private Messages() {
    }

    static String format(String template, Object... args) {
        Object[] shown = Arrays.stream(args).map(Messages::show).toArray();
        return String.format(Locale.ROOT, template, shown);
    }

    private static Object show(Object arg) {
        return arg instanceof long[] ? Arrays.toString((long[]) arg) : arg;
    }

    /** Formats a hint such as {@code " (did you mean \"W\"?)"} for the known name nearest to {@code name}. */
    static String nearest(String name, Collection<String> known) {
        if (known.isEmpty()) {
            return "";
        }
        LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
        String best = known.stream().min(Comparator.comparingInt(k -> distance.apply(name, k))).orElseThrow();
        int d = distance.apply(name, best);
        return d <= Math.max(2, name.length() / 3) ? " (did you mean \"" + best + "\"?)" : "";
    }

    static String list(Collection<String> names) {
        return names.isEmpty() ? "none" : names.stream().map(n -> "\"" + n + "\"").collect(Collectors.joining(", "));
    }
}
