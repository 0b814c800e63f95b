package org.mutablemodules.samediff;

import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The number of native threads ND4J computes with, set at run time: what the environment variable
 * {@code OMP_NUM_THREADS} does at start-up, without it. ND4J's defaults (one thread per core for libnd4j's ops and
 * one for OpenBLAS's matrix products) leave idle native threads spinning on the cores the JVM needs on small
 * machines, which makes step times erratic. Measured on 2 cores (a 784-256-10 MLP's forward pass, batch 128, 500
 * calls): 90th percentile 4.9 to 8.6 ms with the defaults, 1.14 to 1.28 ms after {@code limit(1)}, 1.19 ms with
 * {@code OMP_NUM_THREADS=1}; setting only one of the two pools did not help (5.2 and 3.9 to 6.3 ms).
 *
 * <p>On machines with at most two cores the library applies {@code limit(1)} by itself, once, when the first graph
 * is made mutable (see {@link #PROPERTY} to change that); call {@link #limit} to choose another count. Where
 * computations run side by side on cores of their own (Spark's tasks in an executor),
 * {@link #applyForSideBySide} gives each its share of the cores instead.
 */
public final class NativeThreads {

    /** The system property that overrides the default: a number of threads, or {@code nd4j} for ND4J's own. */
    public static final String PROPERTY = "mutablemodules.nativeThreads";

    private static final Logger LOG = LoggerFactory.getLogger(NativeThreads.class);
    private static final AtomicBoolean APPLIED = new AtomicBoolean();
    private static final AtomicBoolean SIDE_BY_SIDE = new AtomicBoolean();
    /** Whether {@link #limit} was called: the user's own count, which no default replaces. */
    private static volatile boolean limitedByUser;

    private NativeThreads() {
    }

    /**
     * Applies the library's default now, if it was not applied yet: it is otherwise applied when the first graph is
     * made mutable, so call this first when plain ND4J or DL4J work runs before that (a benchmark's reference, for
     * example) and should run with the same threads. Idempotent.
     */
    public static void applyDefault() {
        applyDefaultOnce();
    }

    /**
     * Applies the library's default once per process, when the first graph is made mutable (or a trainer built): on
     * machines with at most two cores, where ND4J's default pools were measured to make steps erratic and slower, one
     * native thread; elsewhere ND4J's own default. Nothing is changed when {@code OMP_NUM_THREADS} is set or
     * {@link #limit} was called (the user chose), or on a GPU backend. The system property {@value #PROPERTY}
     * overrides it: a number of threads, or {@code nd4j} to keep ND4J's defaults.
     */
    static void applyDefaultOnce() {
        if (APPLIED.getAndSet(true) || limitedByUser || !Nd4j.getEnvironment().isCPU()) {
            return;
        }
        Integer threads = defaultThreads(System.getProperty(PROPERTY), System.getenv("OMP_NUM_THREADS"),
                Runtime.getRuntime().availableProcessors());
        if (threads != null) {
            set(threads);
            LOG.info("ND4J computes with {} native thread(s) on this {}-core machine (the library's default; "
                    + "-D{}=nd4j keeps ND4J's own).", threads, Runtime.getRuntime().availableProcessors(), PROPERTY);
        }
    }

    /**
     * Applies, once per process, the native threads for computations that run side by side, each on cores of its
     * own, such as Spark's tasks in an executor: {@code threadsEach} threads (Spark's {@code spark.task.cpus}) for
     * libnd4j and OpenBLAS together. The default otherwise, on machines of more than two cores, is ND4J's own: as many
     * threads as cores for each computation at once, so that every task's native threads compete for every core
     * (Spark scoring with two tasks on 2 cores: 1.6-2.1 million rows/s with ND4J's default, 2.7-3.3 million with one
     * thread per task). Nothing is changed when the user chose ({@code OMP_NUM_THREADS}, the system property
     * {@value #PROPERTY}, or {@link #limit} called before), nor on a GPU backend. The count holds for the whole
     * process: in an embedded (local) Spark session, for the driver's own computations too.
     *
     * @param threadsEach the native threads of each computation, at least 1
     * @throws IllegalArgumentException if {@code threadsEach} is less than 1
     */
    public static void applyForSideBySide(int threadsEach) {
        if (threadsEach < 1) {
            throw new IllegalArgumentException("threadsEach must be at least 1, got " + threadsEach + ".");
        }
        if (!Nd4j.getEnvironment().isCPU() || SIDE_BY_SIDE.getAndSet(true)) {
            return;
        }
        Integer threads = sideBySideThreads(System.getProperty(PROPERTY), System.getenv("OMP_NUM_THREADS"),
                limitedByUser, threadsEach);
        if (threads == null) {
            applyDefaultOnce();     // the user's choice: the property's count, if that is how they chose
        } else {
            APPLIED.set(true);      // the default for one computation must not replace this count later
            set(threads);
            LOG.info("ND4J computes with {} native thread(s) per computation, side by side on this {}-core machine "
                    + "(-D{}=nd4j keeps ND4J's own).", threads, Runtime.getRuntime().availableProcessors(), PROPERTY);
        }
    }

    /** The decision of {@link #applyForSideBySide}: the threads to set, or null to leave it to the user's choice. */
    static Integer sideBySideThreads(String property, String ompNumThreads, boolean limitedByUser, int threadsEach) {
        if (property != null || limitedByUser || ompNumThreads != null && !ompNumThreads.isBlank()) {
            return null;
        }
        return threadsEach;
    }

    /**
     * The default's decision: the number of threads to set, or null to leave ND4J's.
     *
     * @throws IllegalArgumentException if the property is neither a positive number nor {@code nd4j}
     */
    static Integer defaultThreads(String property, String ompNumThreads, int processors) {
        if (property != null) {
            if (property.strip().equalsIgnoreCase("nd4j")) {
                return null;
            }
            try {
                int n = Integer.parseInt(property.strip());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("The system property " + PROPERTY + " is \"" + property
                    + "\"; it must be a number of threads (at least 1) or \"nd4j\" for ND4J's defaults.");
        }
        if (ompNumThreads != null && !ompNumThreads.isBlank()) {
            return null;
        }
        return processors <= 2 ? 1 : null;
    }

    /**
     * Limits both native pools, libnd4j's and OpenBLAS's, to {@code threads} threads, for the whole process. No default
     * of the library replaces this count afterwards.
     *
     * @param threads the number of threads, at least 1 (1 is best on machines with few cores)
     * @throws IllegalArgumentException if {@code threads} is less than 1
     */
    public static void limit(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads + ".");
        }
        limitedByUser = true;
        set(threads);
    }

    private static void set(int threads) {
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }

    /** Forgets what was applied and chosen, as in a new process (tests of the defaults). */
    static void forgetForTests() {
        APPLIED.set(false);
        SIDE_BY_SIDE.set(false);
        limitedByUser = false;
    }

    /** {@return the number of threads OpenBLAS now uses for matrix products} */
    public static int blasThreads() {
        return Nd4j.factory().blas().getMaxThreads();
    }
}
