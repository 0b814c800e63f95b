package org.mutablemodules.samediff;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.mutablemodules.samediff.internal.Archive;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.serde.json.JsonMappers;

/**
 * A {@link GraphTrainer}'s state saved with its graph ({@link MutableGraph#save(java.nio.file.Path, GraphTrainer)}):
 * the updater's configuration, the iteration and epoch counts and each trained variable's updater arrays (Adam's
 * moments, say). A trainer built on the loaded graph with the same updater takes it over, so training goes on as if it
 * had never stopped.
 */
final class TrainerState {

    private static final String PROPERTIES = "trainer.properties";
    private static final String ARRAYS = "trainer-arrays.bin";

    final String updaterJson;
    final long iteration;
    final long epoch;
    final Map<String, Map<String, INDArray>> states;

    TrainerState(String updaterJson, long iteration, long epoch, Map<String, Map<String, INDArray>> states) {
        this.updaterJson = updaterJson;
        this.iteration = iteration;
        this.epoch = epoch;
        this.states = states;
    }

    static String json(IUpdater updater) {
        try {
            return JsonMappers.getMapper().writeValueAsString(updater);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void writeTo(Archive archive) {
        Properties p = new Properties();
        p.setProperty("updater", updaterJson);
        p.setProperty("iteration", String.valueOf(iteration));
        p.setProperty("epoch", String.valueOf(epoch));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            int i = 0;
            for (Map.Entry<String, Map<String, INDArray>> variable : states.entrySet()) {
                int j = 0;
                p.setProperty("variable." + i + ".name", variable.getKey());
                for (Map.Entry<String, INDArray> array : variable.getValue().entrySet()) {
                    p.setProperty("variable." + i + ".key." + j++, array.getKey());
                    Nd4j.write(array.getValue().dup(), out);
                }
                p.setProperty("variable." + i + ".keys", String.valueOf(j));
                i++;
            }
            p.setProperty("variables", String.valueOf(i));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        archive.put(PROPERTIES, p).put(ARRAYS, bytes.toByteArray());
    }

    /** The state in {@code archive}, or null if it holds none. */
    static TrainerState readFrom(Archive archive) throws IOException {
        Properties p;
        try {
            p = archive.properties(PROPERTIES);
        } catch (IOException absent) {
            return null;
        }
        Map<String, Map<String, INDArray>> states = new LinkedHashMap<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(archive.bytes(ARRAYS)))) {
            int n = Integer.parseInt(p.getProperty("variables"));
            for (int i = 0; i < n; i++) {
                Map<String, INDArray> arrays = new LinkedHashMap<>();
                List<String> keys = new ArrayList<>();
                for (int j = 0, k = Integer.parseInt(p.getProperty("variable." + i + ".keys")); j < k; j++) {
                    keys.add(p.getProperty("variable." + i + ".key." + j));
                }
                for (String key : keys) {
                    arrays.put(key, Nd4j.read(in));
                }
                states.put(p.getProperty("variable." + i + ".name"), arrays);
            }
            // Files saved before the epoch count was kept have none: their trainers had ended no epoch.
            return new TrainerState(p.getProperty("updater"), Long.parseLong(p.getProperty("iteration")),
                    Long.parseLong(p.getProperty("epoch", "0")), states);
        } catch (RuntimeException e) {
            throw new IOException("The file's training state is damaged: " + e.getMessage(), e);
        }
    }
}
