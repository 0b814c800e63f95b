package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.impl.ModelDataCarrier;
import org.tribuo.provenance.ModelProvenance;

/**
 * What the Tribuo models of this module share: the kind of output, prediction in batches of examples turned into
 * feature matrices, and the loss on a dataset as the network's configuration defines it. A subclass says how its
 * examples become a matrix and how the matrix becomes outputs.
 *
 * @param <T> the output type: {@link org.tribuo.classification.Label} or {@link org.tribuo.regression.Regressor}
 */
public abstract class AbstractNetworkModel<T extends Output<T>> extends org.tribuo.Model<T> {
    private static final long serialVersionUID = 1L;

    /** What the model predicts: labels or regression values. */
    final OutputKind outputKind;
    /** Examples per batch at prediction time. */
    final int batchSize;

    AbstractNetworkModel(String name, ModelProvenance provenance, ImmutableFeatureMap featureIDMap,
                         ImmutableOutputInfo<T> outputIDInfo, OutputKind outputKind, int batchSize) {
        super(name, provenance, featureIDMap, outputIDInfo, outputKind == OutputKind.LABEL);
        this.outputKind = outputKind;
        this.batchSize = batchSize;
    }

    /** The output kind named in a proto, checked against the carrier's output domain. */
    static OutputKind kindOf(String name, ModelDataCarrier<?> carrier) {
        OutputKind kind;
        try {
            kind = OutputKind.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Invalid protobuf: unknown output kind " + name + ".", e);
        }
        Object first = carrier.outputDomain().getDomain().iterator().next();
        if (!kind.outputClass().isInstance(first)) {
            throw new IllegalStateException("Invalid protobuf: output kind " + kind + " but an output domain of "
                    + first.getClass().getSimpleName() + ".");
        }
        return kind;
    }

    /** {@return the kind of output this model predicts} */
    public OutputKind outputKind() {
        return outputKind;
    }

    /**
     * The network's loss on {@code data}, as the configuration defines it (DL4J's score, example-weighted: the
     * weighted mean of the per-example losses), computed from this model's predictions; regression losses are in the
     * targets' own units.
     *
     * @param data examples whose outputs this model knows
     * @return the loss
     * @throws IllegalArgumentException if an example's output was never seen by the model (the message names the
     *                                  outputs it knows), or an example has no feature the model knows or lacks a
     *                                  context feature; the message names what was expected
     */
    public double loss(Dataset<T> data) {
        List<Example<T>> list = new ArrayList<>();
        data.forEach(list::add);
        INDArray y = converter().targets(list, outputIDInfo, DataType.DOUBLE);
        INDArray p = run(matrix(list)).castTo(DataType.DOUBLE);
        return WeightedLosses.evaluate(lossNetwork(), outputKind, p, y, AbstractNetworkTrainer.exampleWeights(list));
    }

    @Override
    public Prediction<T> predict(Example<T> example) {
        return innerPredict(List.of(example)).get(0);
    }

    /**
     * Predicts in batches of {@code batchSize} examples.
     *
     * @throws IllegalArgumentException if an example has no feature the model knows or lacks a context feature
     */
    @Override
    protected List<Prediction<T>> innerPredict(Iterable<Example<T>> examples) {
        OutputConverter<T> converter = converter();
        return Batches.predict(examples, batchSize, batch -> {
            FeatureMatrix m = matrix(batch);
            return converter.predictions(run(m), batch, m.numUsed, outputIDInfo);
        });
    }

    /** The examples as the matrices the network reads. */
    abstract FeatureMatrix matrix(List<Example<T>> examples);

    /** The network's outputs for {@code m}, one row per example, regression outputs in the targets' own units. */
    abstract INDArray run(FeatureMatrix m);

    /** The network whose output layer defines the loss. */
    abstract NetworkSpec lossNetwork();

    @SuppressWarnings("unchecked")
    private OutputConverter<T> converter() {
        return (OutputConverter<T>) outputKind.converter();
    }
}
