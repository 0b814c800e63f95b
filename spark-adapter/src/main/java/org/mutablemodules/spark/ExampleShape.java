package org.mutablemodules.spark;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * How a row's values, in 'c' order, fill one example of a placeholder: a series of a recurrent network is a row of
 * {@code features x time} values (NCW) or {@code time x features} (NWC), an image {@code channels x height x width}.
 * At most one dimension of an example may be open (the length of a series); a row's width then fixes it, and must be
 * a multiple of the other dimensions' product. With more open dimensions (an image of open height and width) a row
 * cannot tell them: the caller gives the example's shape.
 *
 * @param dims the dimensions of one example, -1 for the one open dimension
 */
record ExampleShape(long[] dims) implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * The example shape of a placeholder of shape {@code shape} (with its batch dimension), or {@code given} if not
     * null; refused, naming {@code role} (a column or placeholder), if more than one dimension is open and nothing is
     * given, or if {@code given} disagrees with the placeholder.
     */
    static ExampleShape of(long[] shape, long[] given, String role) {
        if (given != null) {
            for (long d : given) {
                if (d <= 0) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT, "The example shape %s given for "
                            + "%s has a dimension below 1.", Arrays.toString(given), role));
                }
            }
            if (shape != null && shape.length >= 2) {
                boolean agrees = shape.length - 1 == given.length;
                for (int i = 1; agrees && i < shape.length; i++) {
                    agrees = shape[i] < 0 || shape[i] == given[i - 1];
                }
                if (!agrees) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT, "The example shape %s given for "
                            + "%s does not fit its input of shape %s (batch first, -1 open).", Arrays.toString(given),
                            role, Arrays.toString(shape)));
                }
            }
            return new ExampleShape(given.clone());
        }
        if (shape == null || shape.length < 2) {
            return new ExampleShape(new long[] {-1});
        }
        long[] dims = Arrays.copyOfRange(shape, 1, shape.length);
        long open = Arrays.stream(dims).filter(d -> d < 0).count();
        if (open > 1) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "The input of %s takes examples of shape %s "
                    + "(-1 open): a row of values cannot tell %d open dimensions; give the shape of one example.",
                    role, Arrays.toString(dims), open));
        }
        return new ExampleShape(dims);
    }

    /** The number of values of one example, or -1 if a dimension is open. */
    long width() {
        long w = 1;
        for (long d : dims) {
            if (d < 0) {
                return -1;
            }
            w *= d;
        }
        return w;
    }

    /**
     * The shape of {@code n} examples of {@code w} values each; refused, naming {@code column}, if {@code w} does not
     * fill a whole number of the fixed dimensions.
     */
    long[] batchShape(int n, int w, String column) {
        long known = 1;
        int open = -1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                open = i;
            } else {
                known *= dims[i];
            }
        }
        if (open < 0 ? w != known : w == 0 || w % known != 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "Column \"%s\" holds a row of %d values; "
                    + "an example of shape %s takes %s.", column, w, Arrays.toString(dims),
                    open < 0 ? known + "" : "a positive multiple of " + known));
        }
        long[] shape = new long[dims.length + 1];
        shape[0] = n;
        for (int i = 0; i < dims.length; i++) {
            shape[i + 1] = i == open ? w / known : dims[i];
        }
        return shape;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExampleShape other && Arrays.equals(dims, other.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
