#!/usr/bin/env bash
# Runs the test command (.ci/run) inside a memory cgroup limited to LIMIT (default 8G), as on an 8 GB machine, and
# prints the group's peak memory and each test fork's peak resident memory. Needs root and the cgroup memory
# controller (v1 or v2).
#   scripts/test-under-memory-limit.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-8G}
bytes=$(numfmt --from=iec "$LIMIT")
if [ -d /sys/fs/cgroup/memory ]; then                     # cgroup v1
  group=/sys/fs/cgroup/memory/mutablemodules-tests
  mkdir -p "$group"
  echo "$bytes" > "$group/memory.limit_in_bytes"
  echo 0 > "$group/memory.max_usage_in_bytes"
  peak_file=$group/memory.max_usage_in_bytes
else                                                      # cgroup v2
  group=/sys/fs/cgroup/mutablemodules-tests
  mkdir -p "$group"
  echo "$bytes" > "$group/memory.max"
  peak_file=$group/memory.peak
fi
samples=$(mktemp)
( while true; do
    for p in $(pgrep -f surefirebooter || true); do
      [ "$(ps -o comm= -p "$p" 2>/dev/null)" = java ] || continue
      # a fork that ends between the listing and the reading has no directory left: not a sample
      dir=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
      echo "$dir $(ps -o rss= -p "$p" 2>/dev/null)" >> "$samples"
    done
    sleep 1
  done ) &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
status=0
sh -c "echo \$\$ > $group/cgroup.procs; exec bash .ci/run" || status=$?
echo "Limit $LIMIT; the group's peak: $(numfmt --to=iec < "$peak_file")B (page cache included)."
awk '$2 > m[$1] { m[$1] = $2 } END { for (d in m) printf "test fork in %s: peak resident %.2f GiB\n", d, m[d] / 1048576 }' \
  "$samples"
exit $status
