#!/usr/bin/env bash
# Checks the library on a GPU with ND4J's CUDA backend (Maven profile -Pcuda), step by step, and ends with a
# one-line verdict. It never falls back to the CPU: every step that runs Java first requires the CUDA backend.
#
# Usage: scripts/gpu-check.sh            (from anywhere; needs an NVIDIA driver, Java 17, Maven, Maven Central)
# Exit codes: 0 passed; 1 a step failed; 2 no NVIDIA driver or GPU; 3 a GPU this ND4J release cannot run.
# NVIDIA_SMI may name the nvidia-smi binary (the tests use it to simulate machines).
set -uo pipefail
cd "$(dirname "$0")/.."

# Compute capabilities nd4j-cuda-11.6 1.0.0-M2.1 ships machine code for (no PTX). Kept equal to
# BackendCheck.SHIPPED by a test (GpuCheckScriptTest).
SUPPORTED_CC="3.7 5.0 5.2 6.0 6.1 7.0 7.5 8.0 8.6"
NVIDIA_SMI="${NVIDIA_SMI:-nvidia-smi}"

verdict() { echo "GPU CHECK: $*"; }

if ! command -v "$NVIDIA_SMI" >/dev/null 2>&1; then
  echo "No NVIDIA driver found ($NVIDIA_SMI is not on this machine), so there is no GPU to check."
  echo "The CUDA backend cannot run here; the CPU backend (the default build) is what this machine can use."
  verdict "NOT RUN - no NVIDIA GPU or driver"
  exit 2
fi

gpus=$("$NVIDIA_SMI" --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>&1)
if [ $? -ne 0 ] || [ -z "$gpus" ]; then
  echo "nvidia-smi found no usable GPU: $gpus"
  verdict "NOT RUN - no NVIDIA GPU visible"
  exit 2
fi
echo "GPUs reported by nvidia-smi (name, compute capability, driver):"
echo "$gpus" | sed 's/^/  /'

# Compatibility, by CUDA's binary-compatibility rule: code for X.y runs on X.z when z >= y.
index=0
while IFS=, read -r name cc driver; do
  name=$(echo "$name" | xargs); cc=$(echo "$cc" | xargs)
  major=${cc%%.*}; minor=${cc#*.}
  ok=no
  for s in $SUPPORTED_CC; do
    if [ "${s%%.*}" = "$major" ] && [ "${s#*.}" -le "$minor" ]; then ok=yes; fi
  done
  if [ "$ok" != yes ]; then
    echo "GPU $index \"$name\" has compute capability $cc, which ND4J 1.0.0-M2.1's CUDA backend (nd4j-cuda-11.6)"
    echo "cannot run: it ships GPU code only for compute capabilities ${SUPPORTED_CC// /, } and no PTX."
    verdict "UNSUPPORTED GPU - $name (compute capability $cc)"
    exit 3
  fi
  index=$((index + 1))
done <<< "$gpus"

step() {
  local title=$1; shift
  echo; echo "== $title"; echo "\$ $*"
  if ! "$@"; then
    verdict "FAILED at: $title"
    exit 1
  fi
}

MVN=(mvn -B -ntp -Pcuda)
step "build with the CUDA backend" "${MVN[@]}" -q -DskipTests install
step "backend and devices as ND4J sees them (must be CUDA)" \
  "${MVN[@]}" -q -pl examples exec:java -Dexec.mainClass=org.mutablemodules.examples.BackendInfo \
  -Dexec.args=--require-cuda
step "core and adapter tests on the GPU" "${MVN[@]}" test -pl mutable-samediff,dl4j-adapter
step "quickstart on the GPU" "${MVN[@]}" -q -pl examples exec:java \
  -Dexec.mainClass=org.mutablemodules.examples.Quickstart
step "hypernetwork demo on the GPU" "${MVN[@]}" -q -pl examples exec:java \
  -Dexec.mainClass=org.mutablemodules.examples.HypernetworkDemo -Dexec.args="--steps 300 --require-cuda"

verdict "PASSED on $(echo "$gpus" | head -n 1 | cut -d, -f1-2 | xargs)"
