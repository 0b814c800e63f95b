package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tribuo.Example;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Prediction;
import org.tribuo.regression.Regressor;

/** Regressors as rows of values; column {@code j} is the {@code j}-th dimension in sorted-name (natural) order. */
final class RegressorConverter implements OutputConverter<Regressor> {

    /** The dimension names of {@code info} in natural order. */
    static String[] names(ImmutableOutputInfo<Regressor> info) {
        String[] names = new String[info.size()];
        int i = 0;
        for (Regressor r : info.getDomain()) {
            names[i++] = r.getNames()[0];
        }
        Arrays.sort(names);
        return names;
    }

    @Override
    public INDArray targets(List<? extends Example<Regressor>> examples, ImmutableOutputInfo<Regressor> info,
                            DataType type) {
        String[] names = names(info);
        INDArray y = Nd4j.zeros(type, examples.size(), names.length);
        for (int i = 0; i < examples.size(); i++) {
            Regressor r = examples.get(i).getOutput();
            String[] own = r.getNames();
            double[] values = r.getValues();
            if (!Arrays.equals(own, names)) {
                throw new IllegalArgumentException(Messages.format(Messages.OUTPUT_NOT_SEEN,
                        "with dimensions " + Arrays.toString(own), "the dimensions " + Arrays.toString(names)));
            }
            for (int j = 0; j < names.length; j++) {
                y.putScalar(i, j, values[j]);
            }
        }
        return y;
    }

    @Override
    public List<Prediction<Regressor>> predictions(INDArray outputs, List<? extends Example<Regressor>> examples,
                                                   int[] numUsed, ImmutableOutputInfo<Regressor> info) {
        String[] names = names(info);
        double[][] values = Tensors.rows(outputs);
        List<Prediction<Regressor>> predictions = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            predictions.add(new Prediction<>(new Regressor(names, values[i]), numUsed[i], examples.get(i)));
        }
        return predictions;
    }

    @Override
    public String columnName(int column, ImmutableOutputInfo<Regressor> info) {
        return names(info)[column];
    }

    @Override
    public boolean generatesProbabilities() {
        return false;
    }
}
