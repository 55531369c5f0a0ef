import json, sys, glob, collections
for d in sorted(glob.glob(sys.argv[1] + "/eventlog_v2_*")):
    stages = collections.defaultdict(list); names = {}; st = {}
    for f in sorted(glob.glob(d + "/events_*.json")):
        for line in open(f):
            e = json.loads(line)
            ev = e["Event"]
            if ev == "SparkListenerTaskEnd":
                m = e.get("Task Metrics") or {}
                i = e["Task Info"]
                stages[e["Stage ID"]].append((i["Launch Time"], i["Finish Time"], m.get("Executor Run Time", 0), m.get("Executor CPU Time", 0) / 1e6, m.get("JVM GC Time", 0),
                    m.get("Input Metrics", {}).get("Bytes Read", 0), m.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0),
                    m.get("Shuffle Write Metrics", {}).get("Shuffle Write Time", 0) / 1e6, m.get("Executor Deserialize Time", 0), m.get("Result Serialization Time",0)))
            elif ev == "SparkListenerStageCompleted":
                si = e["Stage Info"]; names[si["Stage ID"]] = si["Stage Name"][:50]; st[si["Stage ID"]] = (si.get("Submission Time"), si.get("Completion Time"))
            elif ev == "SparkListenerApplicationStart": t0 = e["Timestamp"]
    print("==", d.split("_")[-1])
    for s, ts in sorted(stages.items()):
        sub, comp = st.get(s, (0, 0))
        n = len(ts); run = sum(t[2] for t in ts); cpu = sum(t[3] for t in ts); gc = sum(t[4] for t in ts)
        durs = sorted(t[1] - t[0] for t in ts)
        print(f"stage {s:2d} {names.get(s,'?'):50s} start {((sub or 0)-t0)/1e3:6.2f} wall {((comp or 0)-(sub or 0))/1e3:6.2f}s tasks {n:3d} run {run/1e3:7.1f}s cpu {cpu/1e3:7.1f}s gc {gc/1e3:6.1f}s in {sum(t[5] for t in ts)/1e9:5.2f}GB shw {sum(t[6] for t in ts)/1e9:5.2f}GB shwT {sum(t[7] for t in ts)/1e3:5.1f}s task dur min/med/max {durs[0]/1e3:.2f}/{durs[n//2]/1e3:.2f}/{durs[-1]/1e3:.2f}")
