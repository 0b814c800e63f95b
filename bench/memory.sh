#!/usr/bin/env bash
# Peak resident memory of computations through execution plans against SameDiff's session (ExecutionMemory): the
# main job's hypernetwork step, the 784-256-10 hypernetwork step and VGG16's output at 224x224, one JVM per model
# and engine, with the tuned pass's flags of bench/compare.sh. Writes bench/memory.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -DskipTests -pl benchmarks -am package
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
{
  echo "| model | execution | calls | resident before the calls | peak during the calls | peak - before |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for model in sine mlp784 vgg16; do
    for execution in session plan; do
      OMP_NUM_THREADS=1 java -Xmx8g -Xmn16m -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$CP" \
        org.mutablemodules.benchmarks.ExecutionMemory "$model" "$execution" | grep '^|'
    done
  done
} | tee bench/memory.md
