/**
 * Tribuo trainers and models backed by DL4J networks that are trained through mutable SameDiff graphs:
 * {@link org.mutablemodules.tribuo.MutableNetworkTrainer} and {@link org.mutablemodules.tribuo.MutableNetworkModel}
 * for one network, {@link org.mutablemodules.tribuo.HypernetworkTrainer} and
 * {@link org.mutablemodules.tribuo.HypernetworkModel} for networks whose weights a hypernetwork generates from each
 * example's context features.
 */
package org.mutablemodules.tribuo;
