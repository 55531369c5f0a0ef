#!/usr/bin/env python3
"""evsum.py DIR: one line per stage of each Spark event log under DIR (uncompressed event logs, as
written with spark.eventLog.enabled=true and spark.eventLog.compress=false, single files or rolling
eventlog_v2_* folders): when it started after the application, its wall time, its tasks' run, CPU and
GC time, input and shuffle bytes, task durations, and how its tasks spread over the executors
(tasks and run time per executor: the placement that decides whether a second GPU helps)."""
import collections
import glob
import json
import os
import sys


def events(path):
    files = sorted(glob.glob(path + "/events_*")) if os.path.isdir(path) else [path]
    for f in files:
        with open(f) as lines:
            for line in lines:
                yield json.loads(line)


def summarise(path):
    tasks = collections.defaultdict(list)
    names, times = {}, {}
    t0 = None
    for e in events(path):
        kind = e["Event"]
        if kind == "SparkListenerTaskEnd":
            m, i = e.get("Task Metrics") or {}, e["Task Info"]
            tasks[e["Stage ID"]].append(dict(
                executor=i.get("Executor ID", "?"), dur=i["Finish Time"] - i["Launch Time"],
                run=m.get("Executor Run Time", 0), cpu=m.get("Executor CPU Time", 0) / 1e6, gc=m.get("JVM GC Time", 0),
                read=m.get("Input Metrics", {}).get("Bytes Read", 0),
                written=m.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0)))
        elif kind == "SparkListenerStageCompleted":
            info = e["Stage Info"]
            names[info["Stage ID"]] = info["Stage Name"][:44]
            times[info["Stage ID"]] = (info.get("Submission Time") or 0, info.get("Completion Time") or 0)
        elif kind == "SparkListenerApplicationStart":
            t0 = e["Timestamp"]
    print("==", os.path.basename(path.rstrip("/")))
    for stage, ts in sorted(tasks.items()):
        submitted, completed = times.get(stage, (0, 0))
        durations = sorted(t["dur"] for t in ts)
        total = lambda k: sum(t[k] for t in ts)
        per_exec = collections.defaultdict(lambda: [0, 0])
        for t in ts:
            per_exec[t["executor"]][0] += 1
            per_exec[t["executor"]][1] += t["run"]
        spread = " ".join(f"{x}:{n}/{r / 1e3:.1f}s" for x, (n, r) in sorted(per_exec.items()))
        print(f"stage {stage:2d} {names.get(stage, '?'):44s} start {(submitted - (t0 or submitted)) / 1e3:6.2f} "
              f"wall {(completed - submitted) / 1e3:6.2f}s tasks {len(ts):3d} run {total('run') / 1e3:7.1f}s "
              f"cpu {total('cpu') / 1e3:7.1f}s gc {total('gc') / 1e3:6.1f}s in {total('read') / 1e9:5.2f}GB "
              f"shw {total('written') / 1e9:5.2f}GB dur min/med/max {durations[0] / 1e3:.2f}/"
              f"{durations[len(ts) // 2] / 1e3:.2f}/{durations[-1] / 1e3:.2f}s by executor (tasks/run) {spread}")


if __name__ == "__main__":
    logs = sorted(glob.glob(sys.argv[1] + "/*"))
    for log in logs:
        if not log.endswith((".inprogress", ".zst", ".lz4")):
            summarise(log)
