package org.mutablemodules.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What the tasks of one executor JVM share: a model or graph loaded once from the bytes broadcast with a job, by the
 * job's key, whatever the number of tasks and partitions the JVM runs. The last few keys are kept (a driver that runs
 * several jobs with several models), older ones dropped.
 */
final class ExecutorCache {

    private static final int KEPT = 8;

    private static final Map<String, Object> LOADED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Object> eldest) {
            return size() > KEPT;
        }
    };

    private ExecutorCache() {
    }

    /** The value loaded for {@code key}, loading it the first time (once per JVM, under the cache's lock). */
    @SuppressWarnings("unchecked")
    static synchronized <T> T get(String key, Supplier<T> load) {
        return (T) LOADED.computeIfAbsent(key, k -> load.get());
    }

    /** Drops {@code key}'s value (a finished job's). */
    static synchronized void drop(String key) {
        LOADED.remove(key);
    }
}
