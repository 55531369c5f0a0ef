# session 12, call A (nvidia-h200): stage the JRE, this build (app), session 11's HEAD 20c63d2 (app-before)
# and Spark part 03. Calls B and C carry the other Spark parts; C runs the job.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -2
