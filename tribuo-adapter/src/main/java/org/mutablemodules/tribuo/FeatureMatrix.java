package org.mutablemodules.tribuo;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.ImmutableFeatureMap;

/**
 * Examples as dense rows. Columns follow Tribuo's feature ids (the sorted feature names); a feature an example lacks
 * is 0, as in Tribuo's sparse examples, and features the model does not know are ignored. The columns can be split
 * into a network input and a hypernetwork context: {@link #columns} maps each feature id to its block and column.
 */
final class FeatureMatrix {

    /** Per feature id: which block (0 input, 1 context) and which column in it. */
    static final class Columns {
        final int[] block;
        final int[] column;
        final int[] widths;
        final List<String> contextNames;

        private Columns(int[] block, int[] column, int[] widths, List<String> contextNames) {
            this.block = block;
            this.column = column;
            this.widths = widths;
            this.contextNames = contextNames;
        }

        /** Every feature is an input feature. */
        static Columns allInputs(ImmutableFeatureMap features) {
            return split(features, Set.of());
        }

        /** The features named in {@code context} form the context block, the others the input block. */
        static Columns split(ImmutableFeatureMap features, Set<String> context) {
            int n = features.size();
            int[] block = new int[n];
            int[] column = new int[n];
            int[] widths = new int[2];
            List<String> contextNames = new ArrayList<>();
            for (int id = 0; id < n; id++) {
                String name = features.get(id).getName();
                int b = context.contains(name) ? 1 : 0;
                block[id] = b;
                column[id] = widths[b]++;
                if (b == 1) {
                    contextNames.add(name);
                }
            }
            return new Columns(block, column, widths, List.copyOf(contextNames));
        }
    }

    final INDArray[] blocks;
    final int[] numUsed;

    private FeatureMatrix(INDArray[] blocks, int[] numUsed) {
        this.blocks = blocks;
        this.numUsed = numUsed;
    }

    /**
     * The examples' features as one {@code [N, width]} array per block.
     *
     * @throws IllegalArgumentException if an example has no feature the model knows, has a NaN or infinite feature
     *                                  value, or (with a context block) lacks a context feature; the message names
     *                                  what was expected
     */
    static FeatureMatrix of(List<? extends Example<?>> examples, ImmutableFeatureMap features, Columns columns,
                            DataType type) {
        int n = examples.size();
        boolean hasContext = !columns.contextNames.isEmpty();
        double[][] input = new double[n][columns.widths[0]];
        double[][] context = hasContext ? new double[n][columns.widths[1]] : null;
        int[] numUsed = new int[n];
        for (int i = 0; i < n; i++) {
            boolean[] seen = hasContext ? new boolean[columns.widths[1]] : null;
            for (Feature f : examples.get(i)) {
                int id = features.getID(f.getName());
                if (id < 0) {
                    continue;
                }
                numUsed[i]++;
                if (!Double.isFinite(f.getValue())) {
                    throw new IllegalArgumentException(Messages.format(Messages.NON_FINITE_FEATURE, i, f.getName(),
                            f.getValue()));
                }
                if (columns.block[id] == 0) {
                    input[i][columns.column[id]] = f.getValue();
                } else {
                    context[i][columns.column[id]] = f.getValue();
                    seen[columns.column[id]] = true;
                }
            }
            if (numUsed[i] == 0) {
                throw new IllegalArgumentException(Messages.format(Messages.NO_FEATURES,
                        examples.get(i).size() + " feature(s)", describe(features)));
            }
            if (hasContext) {
                Set<String> missing = new TreeSet<>();
                for (int c = 0; c < seen.length; c++) {
                    if (!seen[c]) {
                        missing.add(columns.contextNames.get(c));
                    }
                }
                if (!missing.isEmpty()) {
                    throw new IllegalArgumentException(Messages.format(Messages.MISSING_CONTEXT, missing,
                            columns.contextNames));
                }
            }
        }
        INDArray x = n == 0 ? Nd4j.zeros(type, 0, columns.widths[0]) : Nd4j.createFromArray(input).castTo(type);
        INDArray[] blocks = hasContext
                ? new INDArray[] {x, Nd4j.createFromArray(context).castTo(type)}
                : new INDArray[] {x};
        return new FeatureMatrix(blocks, numUsed);
    }

    private static String describe(ImmutableFeatureMap features) {
        List<String> names = new ArrayList<>();
        for (int id = 0; id < features.size() && id < 10; id++) {
            names.add(features.get(id).getName());
        }
        return names + (features.size() > 10 ? " and " + (features.size() - 10) + " more" : "");
    }
}
