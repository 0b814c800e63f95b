package org.mutablemodules.tribuo;

import java.io.IOException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.learning.config.IUpdater;

/** ND4J updaters as the JSON DL4J writes in its configurations, so that OLCUT can hold them as a string property. */
final class Updaters {

    private Updaters() {
    }

    static String toJson(IUpdater updater) {
        try {
            return NeuralNetConfiguration.mapper().writeValueAsString(updater);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot write the updater " + updater + " as JSON: " + e.getMessage(),
                    e);
        }
    }

    /**
     * @throws IllegalArgumentException if {@code json} is not an updater's JSON
     */
    static IUpdater fromJson(String json) {
        try {
            return NeuralNetConfiguration.mapper().readValue(json, IUpdater.class);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(Messages.format(Messages.UPDATER_JSON, json, e.getMessage()), e);
        }
    }
}
