#!/usr/bin/env bash
# Spark benchmark (spark-adapter), bench/spark.sh [scoring|training|all] [master URL]: scoring throughput in
# local[2] (or on the master given) against one output() loop and Spark's own pass-through, and training step time
# against partitions and rows with Spark's own per-step cost. Prints a Markdown
# table (BENCHMARKS.md, "Spark").
set -euo pipefail
exec "$(dirname "$0")/../scripts/spark-java.sh" org.mutablemodules.spark.SparkBenchmark "$@"
