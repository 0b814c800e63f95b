#!/usr/bin/env bash
# Profiles the hypernetwork training step with Java Flight Recorder and prints where the time goes: the methods on
# top of the stack and the methods on it at all, for the Java samples and for the samples in native code.
#   bench/profile.sh [sine|mlp784] [seconds] [extra JVM options...]
# e.g. bench/profile.sh sine 20 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-sine}"; seconds="${2:-20}"; shift $(( $# > 2 ? 2 : $# )) || true
mvn -B -ntp -q -DskipTests -pl benchmarks -am package
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
out=$(mktemp -d)
java "$@" -XX:StartFlightRecording=delay=8s,filename="$out/step.jfr",settings=profile \
  -XX:FlightRecorderOptions=stackdepth=256 -cp "$CP" org.mutablemodules.benchmarks.ProfileStep "$model" "$seconds" \
  2>/dev/null | grep 'per step'
for kind in ExecutionSample NativeMethodSample; do
  echo "== jdk.$kind"
  jfr print --events "jdk.$kind" "$out/step.jfr" > "$out/$kind.txt"
  python3 bench/jfr_top.py "$out/$kind.txt" | head -40
done
rm -rf "$out"
