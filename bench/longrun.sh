#!/usr/bin/env bash
# Long runs looking for growth (issue 12): 10,000 hypernetwork training steps and 10,000 mutate-then-output cycles,
# sampling heap, resident memory and graph size. Prints two tables (about 3 minutes on 2 cores).
#   bench/longrun.sh [steps] [interval]
#   JVM_OPTS=-Dorg.bytedeco.javacpp.maxPhysicalBytes=0 bench/longrun.sh     (as the main job and the examples run)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -DskipTests -pl benchmarks -am package
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
java -Xmx4g ${JVM_OPTS:-} -cp "$CP" org.mutablemodules.benchmarks.LongRun "${1:-10000}" "${2:-500}" 2>&1 | grep -v 'WARN\|INFO'
