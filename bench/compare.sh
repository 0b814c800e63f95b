#!/usr/bin/env bash
# Runs every benchmark in one go on the CPU and prints a table of medians and ratios, also written to
# bench/results.md. The PyTorch reference runs in the same session, with Debian's python3-torch and OpenBLAS
# (installed here when absent, which needs root and Debian's package archive).
#   bench/compare.sh            full run (about 15 minutes on 2 cores)
#   QUICK=1 bench/compare.sh    short iterations, for a smoke test
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-$(nproc)}     # PyTorch's threads in the first pass: one per core, as ND4J's default

mvn -B -ntp -q -DskipTests -pl benchmarks -am package
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
if [ "${QUICK:-0}" = 1 ]; then
  JMH_ARGS=(-f 1 -wi 1 -w 1s -i 2 -r 1s)
else
  JMH_ARGS=(-f 1 -wi 3 -w 3s -i 5 -r 3s)
fi
# Two passes: the defaults users get (the library's: on machines with at most 2 cores it limits ND4J's native pools
# to one thread, see NativeThreads; the JVM's default heap), then tuned for this kind of machine. ND4J's own default
# pools (one thread per core for libnd4j and for OpenBLAS) leave idle threads spinning and yielding on the cores the
# JVM needs; OMP_NUM_THREADS=1 sets both pools to one thread. ND4J frees an array's native memory only when the Java
# object is collected, and a large young generation collects rarely, so big per-step arrays pile up as fresh pages
# between collections; a small young generation (-Xmn16m) frees them within a step or two. PyTorch runs with the
# default pass's thread count, then with one thread. JavaCPP, under ND4J, reads the process's resident memory at
# every native allocation (several per op) to decide whether to call System.gc(); maxPhysicalBytes=0 turns that
# check off (bench/profile.sh shows it as Pointer.deallocator). The main job and the examples set it too.
TUNED_JVM="-Xmn16m -Dorg.bytedeco.javacpp.maxPhysicalBytes=0"
env -u OMP_NUM_THREADS java -Xmx8g -cp "$CP" org.openjdk.jmh.Main "${JMH_ARGS[@]}" -rf json -rff bench/jmh.json \
  'MutabilityBenchmark|Dl4jComparisonBenchmark|HypernetworkBenchmark|MamlBenchmark'
OMP_NUM_THREADS=1 java -Xmx8g -cp "$CP" org.openjdk.jmh.Main "${JMH_ARGS[@]}" -jvmArgsAppend "$TUNED_JVM" -rf json \
  -rff bench/jmh-tuned.json 'MutabilityBenchmark|Dl4jComparisonBenchmark|HypernetworkBenchmark|MamlBenchmark'
env -u OMP_NUM_THREADS java -Xmx8g -cp "$CP" org.openjdk.jmh.Main -f 1 -wi 1 -i 3 -bm ss -rf json \
  -rff bench/jmh-scaling.json ScalingBenchmark
# GraphTrainer.step against sd.fit, tuned pass only (JMH's own table, appended to the results below).
OMP_NUM_THREADS=1 java -Xmx8g -cp "$CP" org.openjdk.jmh.Main "${JMH_ARGS[@]}" -jvmArgsAppend "$TUNED_JVM" -rf json \
  -rff bench/jmh-trainer.json TrainerBenchmark | grep -E '^(Benchmark|TrainerBenchmark)' > bench/trainer.txt

PY=/usr/bin/python3
if ! $PY -c 'import torch' 2>/dev/null; then
  echo "Installing Debian's python3-torch and libopenblas0-pthread for the PyTorch reference..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch libopenblas0-pthread
fi
$PY bench/torch_reference.py "$THREADS" > bench/torch.json
$PY bench/torch_reference.py 1 > bench/torch-1thread.json
$PY bench/maml_reference.py bench "$THREADS" > bench/torch-maml.json
$PY bench/maml_reference.py bench 1 > bench/torch-maml-1thread.json

# What the figures ran on: the CPU, the OPENBLAS_* variables set, the BLAS each side loaded.
{
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores."
  echo "OPENBLAS_* variables: $(env | grep '^OPENBLAS_' | tr '\n' ' ' || true)$(env | grep -q '^OPENBLAS_' || echo none)."
  echo "Java: $(java -cp "$CP" org.mutablemodules.benchmarks.BlasInfo 2>/dev/null | tail -1)."
  echo "PyTorch: $($PY -c 'import json; d = json.load(open("bench/torch.json")); print(d["torch"] + ", " + d["blas"])')."
} > bench/system.md

# Converting full-size zoo networks: time, heap and resident memory beside the parameters' own memory.
env -u OMP_NUM_THREADS java -Xmx8g -cp "$CP" org.mutablemodules.benchmarks.ZooConversionFootprint 5 | grep '^|' \
  > bench/zoo-conversion.md

{ cat bench/system.md; echo; python3 bench/report.py bench/jmh.json bench/jmh-tuned.json bench/jmh-scaling.json \
  bench/torch.json bench/torch-1thread.json bench/torch-maml.json bench/torch-maml-1thread.json; } | tee bench/results.md
{ echo; echo "Converting DL4J zoo networks at 224x224:"; echo; cat bench/zoo-conversion.md; } | tee -a bench/results.md
{ echo; echo "GraphTrainer.step against sd.fit (one thread, -Xmn16m):"; echo; cat bench/trainer.txt; } | tee -a bench/results.md
