package org.mutablemodules.samediff;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Builds SameDiff's gradient function without ND4J's per-op printing. ND4J 1.0.0-M2.1 prints
 * {@code Added differentiated op ...} on standard output for every op while it builds one (a plain
 * {@code System.out.println}). For the duration of the build, standard output is replaced by a filter that drops
 * those lines, and only those (another thread's printing passes through), and then restored. Switching the loss
 * variables keeps the gradient functions of the previous ones ({@link #useLoss}).
 */
final class GradientFunctions {

    private static final byte[] DROPPED = "Added differentiated op ".getBytes(StandardCharsets.US_ASCII);
    /** SameDiff's name of its gradient function. */
    static final String GRADIENT_FUNCTION = "grad";

    private GradientFunctions() {
    }

    /**
     * Builds {@code sd}'s gradient function if it has none.
     *
     * @param sd        the graph
     * @param quiet     whether to drop ND4J's per-op lines
     * @param variables variables whose gradients must be built even if SameDiff would leave them out (placeholders)
     */
    static void ensure(SameDiff sd, boolean quiet, String... variables) {
        if (sd.hasGradientFunction()) {
            return;
        }
        if (!quiet) {
            sd.createGradFunction(variables);
            return;
        }
        // System.out is process-wide: one swap at a time, always restored.
        synchronized (GradientFunctions.class) {
            PrintStream out = System.out;
            LineFilter filter = new LineFilter(out);
            System.setOut(new PrintStream(filter, true, Charset.defaultCharset()));
            try {
                sd.createGradFunction(variables);
            } finally {
                System.out.flush();
                System.setOut(out);
                filter.finish();
            }
        }
    }

    /**
     * Makes {@code loss} the graph's loss variable. SameDiff keeps one gradient function, for its current loss
     * variables, and drops it when they change, so alternating between losses (a network's loss and its masked
     * copies' for series of several lengths, one per minibatch) rebuilt it at every change, at a cost that grows with
     * the graph. The function of the previous loss is kept ({@link GraphState#keepGradientFunction}) and the new
     * loss's put back if one was kept and is still valid; otherwise the next computation builds it.
     */
    static void useLoss(SameDiff sd, String loss) {
        List<String> wanted = List.of(loss);
        List<String> current = sd.getLossVariables();
        if (current.equals(wanted)) {
            return;
        }
        GraphState state = GraphState.of(sd);
        if (sd.hasGradientFunction()) {
            state.keepGradientFunction(sd, List.copyOf(current), sd.getFunction(GRADIENT_FUNCTION));
        }
        sd.setLossVariables(loss);
        SameDiff kept = state.keptGradientFunction(sd, wanted);
        if (kept != null) {
            sd.putSubFunction(GRADIENT_FUNCTION, kept);
        }
    }

    /** Passes whole lines through to {@code target} except ND4J's {@code Added differentiated op ...}. */
    private static final class LineFilter extends OutputStream {
        private final PrintStream target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineFilter(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            line.write(b);
            if (b == '\n') {
                flushLine();
            }
        }

        @Override
        public void flush() {
            // A flush in the middle of a line (PrintStream flushes after the text of a println, before its newline,
            // in some paths) must not split it: the line is judged whole, when its newline comes.
            target.flush();
        }

        /** Passes on what is left of an unfinished line. */
        void finish() {
            flushLine();
            target.flush();
        }

        private void flushLine() {
            byte[] bytes = line.toByteArray();
            line.reset();
            if (!startsWithDropped(bytes)) {
                target.write(bytes, 0, bytes.length);
            }
        }

        private static boolean startsWithDropped(byte[] bytes) {
            if (bytes.length < DROPPED.length) {
                return false;
            }
            for (int i = 0; i < DROPPED.length; i++) {
                if (bytes[i] != DROPPED[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
