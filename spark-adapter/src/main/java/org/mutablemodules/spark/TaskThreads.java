package org.mutablemodules.spark;

import org.apache.spark.TaskContext;
import org.mutablemodules.samediff.NativeThreads;

/**
 * ND4J's native threads in Spark's tasks: an executor runs as many tasks at once as its cores allow, so each task
 * computes with its own share ({@code spark.task.cpus}), not with ND4J's default of one thread per core for every
 * task at once (two tasks on 2 cores scored 40% fewer rows per second that way). Executors in JVMs of their own
 * already have it: Spark starts them with {@code OMP_NUM_THREADS} set to {@code spark.task.cpus}, a choice the library
 * keeps. In an embedded session ({@code local[N]}) the tasks run in the driver's JVM, whose environment Spark leaves
 * alone: there the first task applies the count. The user's own choice ({@code OMP_NUM_THREADS},
 * {@code -Dmutablemodules.nativeThreads}, or {@link NativeThreads#limit}) stands.
 */
final class TaskThreads {

    private TaskThreads() {
    }

    /** Applies the threads of the task running in this thread (one where no task runs). */
    static void apply() {
        TaskContext task = TaskContext.get();
        NativeThreads.applyForSideBySide(task == null ? 1 : Math.max(1, task.cpus()));
    }
}
