# session 11, call 5 (nvidia-h200): issue 8's table — the Java-launched bench beside PyTorch SDPA (flash and
# cuDNN) on the same shapes, persistent snake-order launch; compute-sanitizer memcheck/racecheck (2 CTAs
# walking each tile list). Carried: .stage/app (the JRE unpacked in /opt/stage by call 4).
set -u
R=$OUT
OUT=$R timeout 330 bash tools/gpu-host/run.sh bench > "$R/bench.out" 2>&1; echo "bench rc $?"
OUT=$R/lab timeout 200 bash kernels/dev/run_on_gpu.sh sanitize > "$R/sanitize.out" 2>&1; echo "sanitize rc $?"
grep -h "compute-sanitizer .* exit\|ERROR SUMMARY\|RACECHECK SUMMARY" "$R"/lab/sanitize_*.log
cat "$R/bench-table.md" 2>/dev/null | tail -40
