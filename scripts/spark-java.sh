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
SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} exec java -Xmx3g $FLAGS \
    -cp "target/test-classes:target/classes:$(cat target/spark-classpath.txt)" "$main" "$@"
