# Sourced by bin/flashspark, bin/flashspark-cluster (executors) and tools/gpu-host/run-cluster.sh: the heap
# options flashspark gives a JVM whose heap is SIZE (an -Xmx value: 8g, 100g, 32768m; empty: unknown), one
# per line, after -Xms = -Xmx (the heap at its full size from the start, not grown and shrunk under the job).
# - Objects that survive a young collection promoted at once: the job's blocks (megabytes each, alive for a
#   stage) are copied once by G1 instead of at every young pause (1M tokens x 8 heads on one H200 host: score
#   21.4 s -> 18.4 s, docs/benchmarks.md, session 14).
# - A heap of 32 GB or more (a GPU host's job) on transparent huge pages: the job touches tens of GB of fresh
#   heap, and 4 KB pages cost millions of faults (1M tokens x 8 heads on one H100: score 10.5-10.7 s ->
#   9.5-9.7 s, session 18); on a small machine compacting memory for them cost more than it saved (a 2-core
#   VM with 8 GB: 7.5-7.9 s -> 8.5-8.8 s, session 17).
# Options given after these win (-XX:MaxTenuringThreshold=15, -XX:-UseTransparentHugePages).
flashspark_heap_options() {
  echo -XX:MaxTenuringThreshold=0
  local size=${1:-} n
  [[ "$size" =~ ^([0-9]+)([kKmMgGtT]?)$ ]] || return 0
  n=${BASH_REMATCH[1]}
  case ${BASH_REMATCH[2]} in [tT]) n=$((n << 40));; [gG]) n=$((n << 30));; [mM]) n=$((n << 20));; [kK]) n=$((n << 10));; esac
  (( n >= 32 << 30 )) && echo -XX:+UseTransparentHugePages
  return 0
}
