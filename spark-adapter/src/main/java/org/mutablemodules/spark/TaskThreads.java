package org.mutablemodules.spark;

import org.apache.spark.TaskContext;
import org.mutablemodules.samediff.NativeThreads;

/**
 * ND4J's native threads in Spark's tasks: an executor runs as many tasks at once as its cores allow, so each task
 * computes with its own share ({@code spark.task.cpus}), not with ND4J's default of one thread per core for every
 * task at once (two tasks on 2 cores scored 40% fewer rows per second that way). Applied by the first task of each
 * executor JVM; the user's own choice ({@code OMP_NUM_THREADS}, {@code -Dmutablemodules.nativeThreads}, or
 * {@link NativeThreads#limit}) stands.
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
