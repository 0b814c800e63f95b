/**
 * The adapter's machinery, not API: the network converter, one converter per DL4J layer type (registered in
 * {@code LayerConverters}), activation functions, loss functions and input pre-processors as SameDiff expressions.
 * Public types here are public only for {@code org.mutablemodules.dl4j}; they may change without notice.
 */
package org.mutablemodules.dl4j.internal;
