package org.mutablemodules.benchmarks;

import org.mutablemodules.samediff.GraphTrainer;
import org.mutablemodules.samediff.NativeThreads;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Runs {@link HypernetworkBenchmark}'s step in a loop for a profiler ({@code bench/profile.sh} records it with Java
 * Flight Recorder): warms up for 300 steps, then steps for the given number of seconds and prints the time per step
 * and the number of ops in the gradient function. Arguments: model ({@code sine} or {@code mlp784}), seconds;
 * {@code -DlistOps=true} lists those ops.
 */
public final class ProfileStep {

    private ProfileStep() {
    }

    /**
     * Runs the loop.
     *
     * @param args model and seconds
     */
    public static void main(String[] args) {
        NativeThreads.applyDefault();
        Models.Hypernetwork h = Models.hypernetwork(args.length > 0 ? args[0] : "sine");
        GraphTrainer t = GraphTrainer.builder(h.sd()).loss(h.loss()).updater(new Adam(1e-4)).build();
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 20;
        for (int i = 0; i < 300; i++) {
            t.step(h.feed());
        }
        var ops = h.sd().getFunction("grad").getOps().values();
        if (Boolean.getBoolean("listOps")) {
            ops.forEach(op -> System.out.println(op.getName() + " " + op.getOp().opName() + " " + op.getInputsToOp()));
        }
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int n = 0;
        long start = System.nanoTime();
        while (System.nanoTime() < end) {
            t.step(h.feed());
            n++;
        }
        System.out.printf("%d ops per step, %d steps, %.3f ms per step%n", ops.size(), n,
                (System.nanoTime() - start) / 1e6 / n);
    }
}
