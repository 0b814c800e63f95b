package org.mutablemodules.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.VGG16;
import org.mutablemodules.dl4j.MutableNetwork;

/**
 * Converting real networks at full size: VGG16 and ResNet50 from DL4J's zoo at 224x224 (random weights). For each,
 * prints the median conversion time over a few runs, the peak Java heap used during a conversion, and how much the
 * process's resident memory grew (ND4J arrays live outside the Java heap, so the copies of the parameters show there),
 * beside the network's own parameter memory.
 *
 * <p>Run: {@code java -cp ... org.mutablemodules.benchmarks.ZooConversionFootprint [runs]}.
 */
public final class ZooConversionFootprint {

    private ZooConversionFootprint() {
    }

    /**
     * Runs the measurement and prints one table row per network.
     *
     * @param args optionally the number of timed conversions per network (default 5)
     */
    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.println("| network | parameters | parameter memory | conversion (median of " + runs
                + ") | peak heap during conversion | resident memory added | added / parameter memory |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
        // Loads the classes and native code on a small network first, so the first measured conversion is not
        // charged for them.
        MutableNetwork.of(ResNet50.builder().numClasses(2).inputShape(new int[] {3, 96, 96})
                .build().init());
        measure("VGG16 224x224", () -> VGG16.builder().numClasses(1000).build().init(), runs);
        measure("ResNet50 224x224", () -> ResNet50.builder().numClasses(1000).build().init(), runs);
    }

    private static void measure(String name, Supplier<? extends Model> build, int runs) {
        Model net = build.get();
        long parameterBytes = net.params().length() * net.params().dataType().width();
        // The first conversion, with the converted network kept: how much memory a converted network holds.
        settle();
        long heapBefore = usedHeap();
        long residentBefore = Pointer.physicalBytes();
        resetPeaks();
        MutableNetwork first = MutableNetwork.of((ComputationGraph) net);
        long residentAdded = Pointer.physicalBytes() - residentBefore;
        long peakHeap = peakHeap() - heapBefore;
        if (first.parameterKeys().isEmpty()) {
            throw new IllegalStateException("nothing converted");
        }
        first = null;       // released before the timed conversions
        double[] seconds = new double[runs];
        for (int i = 0; i < runs; i++) {
            settle();
            long start = System.nanoTime();
            MutableNetwork.of((ComputationGraph) net);
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        System.out.printf(Locale.ROOT, "| %s | %,d | %s | %.2f s | %s | %s | %.2f |%n", name, net.params().length(),
                mib(parameterBytes), seconds[runs / 2], mib(peakHeap), mib(residentAdded),
                residentAdded / (double) parameterBytes);
    }

    private static void settle() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
    }

    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (1024.0 * 1024.0));
    }
}
