/**
 * Tribuo trainers and models backed by DL4J networks that are trained through mutable SameDiff graphs:
 * {@link org.mutablemodules.tribuo.MutableNetworkTrainer} and {@link org.mutablemodules.tribuo.MutableNetworkModel}
 * for one network, {@link org.mutablemodules.tribuo.HypernetworkTrainer} and
 * {@link org.mutablemodules.tribuo.HypernetworkModel} for networks whose weights a hypernetwork generates from each
 * example's context features. Both trainers extend {@link org.mutablemodules.tribuo.AbstractNetworkTrainer}, which
 * holds their shared configuration, random stream and {@code train} overloads, and are made by builders sharing
 * {@link org.mutablemodules.tribuo.AbstractNetworkTrainer.Builder}; every minibatch step goes through the core's
 * {@code GraphTrainer}. Both models extend {@link org.mutablemodules.tribuo.AbstractNetworkModel} (batched prediction,
 * the loss on a dataset). Activations and losses the models compute themselves are the DL4J adapter's own, so their
 * numerics are DL4J's.
 */
package org.mutablemodules.tribuo;
