#!/usr/bin/env bash
# Fuzzed conversion: runs ConversionFuzzTest over many seeded random DL4J networks and prints its counts
# (converted, refused, invalid for DL4J, comparisons left out and why) and any failing seeds.
#
# Usage: scripts/fuzz.sh [cases] [startSeed]      (defaults: 3000 cases from seed 1)
# A failing seed is reproduced with: scripts/fuzz.sh 1 <seed>
set -uo pipefail
cd "$(dirname "$0")/.."
cases="${1:-3000}"
start="${2:-1}"
reports=dl4j-adapter/target/surefire-reports
flock /tmp/build.lock mvn -B -ntp -o -q -pl dl4j-adapter -am test -Dtest=ConversionFuzzTest \
  -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.cases="$cases" -Dfuzz.start="$start" >/tmp/fuzz-$$.log 2>&1
status=$?
grep -h '^FUZZ' "$reports/org.mutablemodules.dl4j.ConversionFuzzTest-output.txt" 2>/dev/null
grep -h 'Tests run' "$reports/org.mutablemodules.dl4j.ConversionFuzzTest.txt" 2>/dev/null | head -1
grep -h -A1 '^seed .* failed' "$reports/org.mutablemodules.dl4j.ConversionFuzzTest.txt" 2>/dev/null | grep -v '^--'
if [ $status -ne 0 ] && ! grep -q 'Tests run' "$reports/org.mutablemodules.dl4j.ConversionFuzzTest.txt" 2>/dev/null; then
  echo "The test JVM did not finish (a native crash?); last seed started: $(cat dl4j-adapter/target/fuzz-last-seed.txt 2>/dev/null)"
  tail -20 /tmp/fuzz-$$.log
fi
rm -f /tmp/fuzz-$$.log
exit $status
