# Sourced by run-cluster.sh and run-rapids.sh (with $table set): timing and GPU-busy helpers.
#   secs T0            seconds since T0 (date +%s.%N)
#   sampled CMD...     runs CMD while nvidia-smi samples every GPU's utilisation every 250 ms into $util
#                      and vmstat the host every second beside it ("GPU busy" = the sum of utilisation x 0.25 s)
#   row NAME LOG WALL UTIL   one table line: the score's own clock and summed kernel time from LOG, GPU busy
#                      (and host traffic) from UTIL's samples, appended to $table
secs() { python3 -c "print(round($(date +%s.%N) - $1, 1))"; }
row() { local s=$(grep -o 'in [0-9.]*s ->' "$2" | grep -o '[0-9.]*'); local k=$(sed -n 's/.*attention kernels \([0-9.]*\)s.*/\1/p' "$2")
  local busy=$(python3 -c '
import collections, sys
busy = collections.defaultdict(float)
for line in open(sys.argv[1]):
    f = [x.strip() for x in line.split(",")]
    if len(f) == 2 and f[1].isdigit():
        busy[f[0]] += int(f[1]) / 100 * 0.25
out = " ".join("gpu%s %.1fs" % (g, b) for g, b in sorted(busy.items()))
try:  # vmstat: blocks of 1 KiB written/read per second; CPU user/system/idle/iowait in %
    rows = [l.split() for l in open(sys.argv[1][:-4] + ".vmstat") if l.split() and l.split()[0].isdigit()]
    col = lambda i: [int(r[i]) for r in rows]
    out += "  host: %.1f GB written, %.1f GB read, cpu us %d%% sy %d%% wa %d%% (mean of %d s)" % (
        sum(col(9)) / 1e6, sum(col(8)) / 1e6, sum(col(12)) / len(rows), sum(col(13)) / len(rows), sum(col(15)) / len(rows), len(rows))
except Exception:
    pass
print(out)' "$4")
  printf '%-30s wall %7ss  score %7ss  kernels(summed) %7ss  busy: %s\n' "$1" "$3" "${s:-?}" "${k:-?}" "$busy" | tee -a "$table"; }
sampled() { nvidia-smi --query-gpu=index,utilization.gpu --format=csv,noheader,nounits -lms 250 > "$util" 2>/dev/null &
  local mon=$!; vmstat -n 1 > "${util%.csv}.vmstat" 2>/dev/null & local vm=$!
  "$@"; local rc=$?; kill $mon $vm 2>/dev/null; wait $mon $vm 2>/dev/null; return $rc; }
