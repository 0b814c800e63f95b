package org.mutablemodules.tribuo;

import org.tribuo.Output;
import org.tribuo.classification.Label;
import org.tribuo.regression.Regressor;

/**
 * The kinds of Tribuo output the trainers of this package learn, each with its network head and column order.
 * A configuration names one of these (the trainers' {@code outputKind} property); the static factories of
 * {@link MutableNetworkTrainer} and {@link HypernetworkTrainer} set it for you.
 */
public enum OutputKind {
    /**
     * Classification ({@link Label}): a softmax output layer with the MCXENT (or negative log-likelihood) loss; the
     * network's output column {@code j} is the label with id {@code j} in the dataset's output info, and predictions
     * carry every label's probability.
     */
    LABEL(Label.class),
    /**
     * Regression ({@link Regressor}): an output layer with the MSE, L2, MAE or L1 loss; the network's output column
     * {@code j} is the {@code j}-th regression dimension in Tribuo's natural order (sorted dimension names).
     */
    REGRESSOR(Regressor.class);

    private final Class<? extends Output<?>> outputClass;

    OutputKind(Class<? extends Output<?>> outputClass) {
        this.outputClass = outputClass;
    }

    /** {@return the Tribuo output class this kind trains on: {@code Label} or {@code Regressor}} */
    public Class<? extends Output<?>> outputClass() {
        return outputClass;
    }

    /** The converter between this kind's outputs and network columns. */
    OutputConverter<?> converter() {
        return this == LABEL ? new LabelConverter() : new RegressorConverter();
    }
}
