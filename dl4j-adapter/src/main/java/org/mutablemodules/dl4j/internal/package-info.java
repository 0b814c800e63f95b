/**
 * The adapter's machinery, not API: the network converter (which also replays the converters for the functional
 * call), one converter per DL4J layer type (registered in {@code LayerConverters}) and vertex type, activation
 * functions, loss functions and input pre-processors as SameDiff expressions, and the explicit backward rules of
 * {@code lossGradients} ({@code FunctionalNetwork}, {@code FunctionalLayer}).
 * {@code LayerFunctions} lends the activation functions and losses to the Tribuo adapter, so their numerics are
 * DL4J's there too. Public types here are public only for this project's other packages and modules; they may change
 * without notice.
 */
package org.mutablemodules.dl4j.internal;
