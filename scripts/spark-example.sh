#!/usr/bin/env bash
# The Spark example: a hypernetwork trained data-parallel with SparkTrainer on local[*], or on the master URL given
# (scripts/spark-example.sh spark://host:7077). Source: spark-adapter/src/test/java/.../SparkHypernetwork.java.
set -euo pipefail
exec "$(dirname "$0")/spark-java.sh" org.mutablemodules.spark.SparkHypernetwork "$@"
