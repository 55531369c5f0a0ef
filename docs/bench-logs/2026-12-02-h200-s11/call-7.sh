# session 11, calls 6-8 (nvidia-h200): the 1M x 8-head job on the final build (9ef99d4: persistent launch in
# snake order). Call 6 stages the JRE, the app and Spark part 03; call 7 parts 00-01; call 8 part 02, then the runs.
SPARK_PARTS=4 bash tools/gpu-host/unpack.sh | tail -2
