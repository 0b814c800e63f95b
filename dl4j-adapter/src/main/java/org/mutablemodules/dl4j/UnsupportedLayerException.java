package org.mutablemodules.dl4j;

/**
 * Thrown when a DL4J network contains a layer, an option of a layer, an activation, a loss function or an input
 * pre-processor that the adapter cannot convert. The message names the layer index, its class, what is not supported
 * and what is.
 */
public final class UnsupportedLayerException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the full message, naming the layer and what is supported
     */
    public UnsupportedLayerException(String message) {
        super(message);
    }
}
