package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ListProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.DoubleProvenance;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-column standardisation of regression targets: {@code (y - mean) / scale}, with {@code scale} the column's
 * standard deviation (1 for a constant column).
 */
final class Standardisation {

    final double[] means;
    final double[] scales;

    Standardisation(double[] means, double[] scales) {
        this.means = means;
        this.scales = scales;
    }

    /** The means and standard deviations of the columns of {@code y} ({@code [N, d]}). */
    static Standardisation of(INDArray y) {
        double[][] v = Tensors.rows(y);
        int d = (int) y.size(1);
        double[] means = new double[d];
        double[] scales = new double[d];
        for (int j = 0; j < d; j++) {
            double sum = 0;
            for (double[] row : v) {
                sum += row[j];
            }
            means[j] = sum / v.length;
            double sq = 0;
            for (double[] row : v) {
                sq += (row[j] - means[j]) * (row[j] - means[j]);
            }
            double sd = Math.sqrt(sq / v.length);
            scales[j] = sd > 1e-12 * Math.max(1.0, Math.abs(means[j])) ? sd : 1.0;
        }
        return new Standardisation(means, scales);
    }

    INDArray apply(INDArray y) {
        INDArray m = Nd4j.createFromArray(means).castTo(y.dataType()).reshape(1, means.length);
        INDArray s = Nd4j.createFromArray(scales).castTo(y.dataType()).reshape(1, scales.length);
        return y.subRowVector(m).divRowVector(s);
    }

    /** {@code p * scale + mean}, column by column. */
    INDArray undo(INDArray p) {
        INDArray m = Nd4j.createFromArray(means).castTo(p.dataType()).reshape(1, means.length);
        INDArray s = Nd4j.createFromArray(scales).castTo(p.dataType()).reshape(1, scales.length);
        return p.mulRowVector(s).addRowVector(m);
    }

    /** The means and scales as model provenance entries. */
    Map<String, Provenance> provenance() {
        return Map.of(MutableNetworkTrainer.TARGET_MEANS, list(MutableNetworkTrainer.TARGET_MEANS, means),
                MutableNetworkTrainer.TARGET_SCALES, list(MutableNetworkTrainer.TARGET_SCALES, scales));
    }

    private static ListProvenance<DoubleProvenance> list(String key, double[] values) {
        List<DoubleProvenance> list = new ArrayList<>(values.length);
        for (double v : values) {
            list.add(new DoubleProvenance(key, v));
        }
        return new ListProvenance<>(list);
    }
}
