package org.mutablemodules.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.model.VGG16;
import org.mutablemodules.dl4j.MutableNetwork;
import org.mutablemodules.samediff.GraphTrainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Peak resident memory of repeated computations through execution plans or through SameDiff's session, one model
 * and one engine per JVM (run it once per pair; {@code bench/memory.sh} does): the main job's one-task
 * hypernetwork step ({@code sine}), the 784-256-10 hypernetwork step ({@code mlp784}), and the output of DL4J's
 * VGG16 converted, at 224x224 ({@code vgg16}). Prints one Markdown row: the process's resident memory just before
 * the calls (after building and one collection), its peak during the calls ({@code VmHWM}, reset before them
 * through {@code /proc/self/clear_refs}), and the difference.
 *
 * <p>Run: {@code java -cp ... org.mutablemodules.benchmarks.ExecutionMemory MODEL plan|session [calls]}.
 */
public final class ExecutionMemory {

    private ExecutionMemory() {
    }

    /**
     * Runs the calls and prints the row.
     *
     * @param args the model ({@code sine}, {@code mlp784} or {@code vgg16}), the engine ({@code plan} or
     *             {@code session}) and optionally the number of calls (default 30)
     * @throws IOException if {@code /proc/self/status} cannot be read
     */
    public static void main(String[] args) throws IOException {
        String model = args[0];
        String execution = args[1];
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        System.setProperty("mutablemodules.execution", execution);
        Runnable call;
        if ("vgg16".equals(model)) {
            MutableNetwork m = MutableNetwork.of((ComputationGraph) VGG16.builder().numClasses(1000).build().init());
            INDArray x = Nd4j.rand(DataType.FLOAT, 1, 3, 224, 224);
            call = () -> m.output(x);
        } else {
            Models.Hypernetwork h = Models.hypernetwork(model);
            GraphTrainer trainer = GraphTrainer.builder(h.sd()).loss(h.loss()).updater(new Adam(1e-4)).build();
            Map<String, INDArray> feed = h.feed();
            call = () -> trainer.step(feed);
        }
        System.gc();
        // Resets the peak (VmHWM) to the current resident memory: the peak read afterwards is that of the calls.
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        long before = status("VmRSS");
        for (int i = 0; i < calls; i++) {
            call.run();
        }
        long peak = status("VmHWM");
        System.out.printf(Locale.ROOT, "| %s | %s | %d | %.1f MiB | %.1f MiB | %.1f MiB |%n", model, execution, calls,
                before / 1024.0, peak / 1024.0, (peak - before) / 1024.0);
    }

    /** A {@code kB} figure of {@code /proc/self/status}. */
    private static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " in /proc/self/status");
    }
}
