#!/usr/bin/env bash
# Runs a main class of spark-adapter's test sources (the Spark example, the Spark benchmark) in a JVM of its own, with
# the module's test classpath and Spark's JVM flags for Java 17: scripts/spark-java.sh <main class> [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
main=$1
shift
mvn -B -ntp -q install -DskipTests
mvn -B -ntp -q -pl spark-adapter test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/spark-classpath.txt
FLAGS=$(mvn -B -ntp -q -Dstyle.color=never -pl spark-adapter help:evaluate -Dexpression=spark.jvm.flags \
    -DforceStdout | sed "s/\x1b\[[0-9;]*m//g")
cd spark-adapter
for arg in "$@"; do
    # local-cluster masters start executor JVMs as Spark's own tests do: without a Spark build directory
    case $arg in local-cluster*) export SPARK_TESTING=1 SPARK_SCALA_VERSION=2.13 ;; esac
done
# the flags also as a property, for executors in JVMs of their own (spark.executor.extraJavaOptions)
SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} exec java -Xmx3g $FLAGS "-Dspark.jvm.flags=$FLAGS" \
    -cp "$PWD/target/test-classes:$PWD/target/classes:$(cat target/spark-classpath.txt)" "$main" "$@"
