package org.mutablemodules.spark;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What the tasks of one executor JVM share: a model or graph loaded once from the bytes broadcast with a job, by the
 * job's key, whatever the number of tasks and partitions the JVM runs. The last few keys are kept (a driver that runs
 * several jobs with several models), older ones dropped. A model that jobs only read (scoring) is keyed by its bytes'
 * digest, so that scoring again with the same model (each micro-batch of a stream, each of several DataFrames) loads
 * it once per JVM; one a job changes (training), by a key of the job's own.
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

    /** The key of a model that jobs only read: {@code kind} and the SHA-256 digest of its bytes. */
    static String contentKey(String kind, byte[] bytes) {
        try {
            return kind + ":" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM has no SHA-256, which every Java platform has", e);
        }
    }
}
