/**
 * The DL4J adapter: {@link org.mutablemodules.dl4j.MutableNetwork} converts a {@code MultiLayerNetwork} or a
 * {@code ComputationGraph} into one mutable SameDiff graph with DL4J's outputs, scores and gradients, and bakes
 * mutated values back into a plain network; its {@link org.mutablemodules.dl4j.FunctionalView} applies the network
 * again with given parameters (the functional call) and builds the score's gradients as expressions.
 * {@link org.mutablemodules.dl4j.UnsupportedLayerException} reports what cannot be converted.
 *
 * <p>Package-private helpers split {@code MutableNetwork} by job: {@code SourceNetwork} (the kind of DL4J network
 * and its configuration), {@code NetworkParts} (conversion into the parts a network is made of), {@code NetworkFeeds}
 * (arrays into the graph's feed, in the network's terms) and {@code NetworkFile} (the file format). The converters
 * live in {@code org.mutablemodules.dl4j.internal}, which is not public API.
 */
package org.mutablemodules.dl4j;
