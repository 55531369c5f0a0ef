import json,sys,glob
# sums Spark's shuffle metrics from an event log: bytes written/read, per stage and in all
import os
def lines(f):
    files=sorted(glob.glob(f+'/events_*')) if os.path.isdir(f) else [f]
    for x in files:
        yield from open(x)
for f in sys.argv[1:]:
    stages={}
    for line in lines(f):
        e=json.loads(line)
        if e.get("Event")=="SparkListenerTaskEnd":
            m=e.get("Task Metrics") or {}
            w=m.get("Shuffle Write Metrics",{}).get("Shuffle Bytes Written",0)
            r=m.get("Shuffle Read Metrics",{})
            rr=r.get("Remote Bytes Read",0)+r.get("Local Bytes Read",0)
            s=stages.setdefault(e["Stage ID"],[0,0,0])
            s[0]+=w; s[1]+=rr; s[2]+=m.get("Executor Run Time",0)
    tw=sum(v[0] for v in stages.values())
    for k,v in sorted(stages.items()):
        print(f"stage {k}: shuffle write {v[0]/1e6:.2f} MB read {v[1]/1e6:.2f} MB run {v[2]/1e3:.1f} s")
    print(f"{f}: total shuffle write {tw/1e6:.2f} MB")
