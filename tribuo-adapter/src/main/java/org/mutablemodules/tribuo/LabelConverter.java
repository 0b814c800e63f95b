package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;

/** Labels as one-hot rows; column {@code j} is the label with id {@code j}; predictions carry the softmax. */
final class LabelConverter implements OutputConverter<Label> {

    @Override
    public INDArray targets(List<? extends Example<Label>> examples, ImmutableOutputInfo<Label> info, DataType type) {
        INDArray y = Nd4j.zeros(type, examples.size(), info.size());
        for (int i = 0; i < examples.size(); i++) {
            Label label = examples.get(i).getOutput();
            int id = info.getID(label);
            if (id < 0) {
                throw new IllegalArgumentException(Messages.format(Messages.OUTPUT_NOT_SEEN, label.getLabel(),
                        info.getDomain()));
            }
            y.putScalar(i, id, 1.0);
        }
        return y;
    }

    @Override
    public List<Prediction<Label>> predictions(INDArray outputs, List<? extends Example<Label>> examples, int[] numUsed,
                                               ImmutableOutputInfo<Label> info) {
        double[][] p = Tensors.rows(outputs);
        List<Prediction<Label>> predictions = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            Map<String, Label> scores = new LinkedHashMap<>();
            Label best = null;
            for (int j = 0; j < info.size(); j++) {
                Label label = new Label(info.getOutput(j).getLabel(), p[i][j]);
                scores.put(label.getLabel(), label);
                if (best == null || label.getScore() > best.getScore()) {
                    best = label;
                }
            }
            predictions.add(new Prediction<>(best, scores, numUsed[i], examples.get(i), true));
        }
        return predictions;
    }

    @Override
    public String columnName(int column, ImmutableOutputInfo<Label> info) {
        return info.getOutput(column).getLabel();
    }

    @Override
    public boolean generatesProbabilities() {
        return true;
    }
}
