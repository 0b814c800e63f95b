#!/usr/bin/env bash
# Fuzzed conversion: runs ConversionFuzzTest over many seeded random DL4J networks and prints its counts
# (converted, refused, invalid for DL4J, comparisons left out and why), any failing seeds, and any seed whose case
# crashed the JVM in native code (ND4J aborts on some errors): the run then goes on from the next seed.
#
# Usage: scripts/fuzz.sh [cases] [startSeed]      (defaults: 3000 cases from seed 1)
# One seed is reproduced with: scripts/fuzz.sh 1 <seed>
set -uo pipefail
cd "$(dirname "$0")/.."
cases="${1:-3000}"
start="${2:-1}"
reports=dl4j-adapter/target/surefire-reports
out="$reports/org.mutablemodules.dl4j.ConversionFuzzTest-output.txt"
txt="$reports/org.mutablemodules.dl4j.ConversionFuzzTest.txt"
summary=$(mktemp)
pending=("$start:$((start + cases - 1))")
crashed=()
failed=0
while [ ${#pending[@]} -gt 0 ]; do
  range="${pending[0]}"; pending=("${pending[@]:1}")
  from="${range%%:*}"; to="${range##*:}"
  [ "$from" -gt "$to" ] && continue
  rm -f "$out" "$txt" dl4j-adapter/target/fuzz-last-seed.txt
  flock /tmp/build.lock mvn -B -ntp -o -q -pl dl4j-adapter -am test -Dtest=ConversionFuzzTest \
    -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.cases=$((to - from + 1)) -Dfuzz.start="$from" >/dev/null 2>&1
  if grep -q '^Tests run' "$txt" 2>/dev/null; then
    grep -h '^FUZZ' "$out" >>"$summary"
    if grep -q '^seed .* failed' "$txt"; then
      failed=1
      grep -h -A1 '^seed .* failed' "$txt" | grep -v '^--' | cut -c1-400
    fi
  else
    last=$(cut -d' ' -f1 dl4j-adapter/target/fuzz-last-seed.txt 2>/dev/null)
    if [ -z "$last" ]; then echo "The build failed before any case ran."; exit 1; fi
    crashed+=("$(cat dl4j-adapter/target/fuzz-last-seed.txt)")
    pending=("$from:$((last - 1))" "$((last + 1)):$to" "${pending[@]}")
  fi
done
# Sum the counts of every completed run.
awk '/^FUZZ seeds/ { gsub(/\(/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/ && $(i+1) ~ /^(cases,|converted|with|refused,|invalid)/) n[$(i+1)] += $i; next }
     /^FUZZ   / { sub(/^FUZZ   /, ""); k = $0; sub(/: [0-9]+$/, "", k); v = $0; sub(/.*: /, "", v); c[k] += v }
     END { printf "FUZZ TOTAL: %d cases, %d converted (%d with gradient parity), %d refused, %d invalid for DL4J\n",
             n["cases,"], n["converted"], n["with"], n["refused,"], n["invalid"];
           for (k in c) printf "  %s: %d\n", k, c[k] }' "$summary" | sort
for c in "${crashed[@]}"; do echo "CRASHED the JVM (native): seed $c"; done
rm -f "$summary"
[ $failed -eq 0 ] && [ ${#crashed[@]} -eq 0 ]
