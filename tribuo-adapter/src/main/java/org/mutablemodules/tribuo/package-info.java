/**
 * Tribuo trainers and models backed by DL4J networks that are trained through mutable SameDiff graphs:
 * {@link org.mutablemodules.tribuo.MutableNetworkTrainer} and {@link org.mutablemodules.tribuo.MutableNetworkModel}
 * for one network, {@link org.mutablemodules.tribuo.HypernetworkTrainer} and
 * {@link org.mutablemodules.tribuo.HypernetworkModel} for networks whose weights a hypernetwork generates from each
 * example's context features. Both trainers extend {@link org.mutablemodules.tribuo.AbstractNetworkTrainer}, which
 * holds their shared configuration, random stream and {@code train} overloads; every minibatch step goes through the
 * core's {@code GraphTrainer}.
 */
package org.mutablemodules.tribuo;
