/**
 * The DL4J adapter: {@link org.mutablemodules.dl4j.MutableNetwork} converts a {@code MultiLayerNetwork} or a
 * {@code ComputationGraph} into one mutable SameDiff graph with DL4J's outputs, scores and gradients, applies it
 * again with given parameters (the functional call), and bakes mutated values back into a plain network.
 * {@link org.mutablemodules.dl4j.UnsupportedLayerException} reports what cannot be converted.
 */
package org.mutablemodules.dl4j;
