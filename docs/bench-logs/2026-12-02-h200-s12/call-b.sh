# session 12, call B (nvidia-h200): Spark parts 00 and 01.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -2
