/**
 * The library on Apache Spark: {@link org.mutablemodules.spark.SparkScoring} scores DataFrames with a converted
 * network or any Tribuo model (a hypernetwork model's per-row context included), and
 * {@link org.mutablemodules.spark.SparkTrainer} trains a converted network or any mutable graph data-parallel, each
 * synchronous step equal to one full-batch step of the core's {@code GraphTrainer} on one machine. Spark is a
 * provided dependency (the cluster's own, 4.0 with Scala 2.13 by default); models travel once per executor JVM as
 * bytes in the library's or Tribuo's format.
 */
package org.mutablemodules.spark;
