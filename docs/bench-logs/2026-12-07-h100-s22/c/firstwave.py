#!/usr/bin/env python3
"""The first wave of reads in a Flight Recording (call C's fw.jfr): CPU per 100 ms by kind of thread (from
jdk.ThreadCPULoad, in cores), file reads of 1 ms or more, safepoints and GC pauses, from T0 (the cells' reads were
queued about 0.15 s after it).   firstwave.py EVENTS.json T0   (EVENTS.json: jfr print --json --stack-depth 30
--events jdk.ThreadCPULoad,jdk.FileRead,jdk.SafepointBegin,jdk.ExecuteVMOperation,jdk.GCPhasePause rec.jfr)"""
import collections, datetime, json, sys

def ts(s): return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
events = json.load(open(sys.argv[1]))['recording']['events']
t0 = ts(sys.argv[2])
def kind(n):
    return ('read' if n.startswith('flashspark-read') else 'jit' if 'Compiler' in n else
            'cells' if 'cells' in n else 'main' if n == 'main' else 'other')
cpu = collections.defaultdict(collections.Counter)
for e in events:
    v = e['values']; t = ts(v['startTime']) - t0
    if e['type'] == 'jdk.ThreadCPULoad' and -0.3 < t < 1.5:
        cpu[round(t, 1)][kind(v['eventThread']['javaName'])] += (v['user'] + v['system']) * 16
print('time   cores: all   read   jit cells  main other')
for t in sorted(cpu):
    c = cpu[t]; print(f"{t:5.1f}  {sum(c.values()):10.1f} " + ' '.join(f"{c[k]:5.1f}" for k in ('read', 'jit', 'cells', 'main', 'other')))
print('\nfile reads of 1 ms or more (time, duration, bytes, thread, file):')
for e in sorted(events, key=lambda e: e['values']['startTime']):
    v = e['values']; t = ts(v['startTime']) - t0
    if e['type'] == 'jdk.FileRead' and -0.5 < t < 1.5:
        print(f"{t:6.3f} {v['duration']:>18} {v['bytesRead']:>7} {v['eventThread']['javaName'][:20]:20} {str(v['path'])[-40:]}")
print('\nsafepoints and GC pauses:')
for e in sorted(events, key=lambda e: e['values']['startTime']):
    v = e['values']; t = ts(v['startTime']) - t0
    if e['type'] in ('jdk.SafepointBegin', 'jdk.GCPhasePause') and -0.5 < t < 1.6:
        print(f"{t:6.3f} {e['type'][4:]:15} {v['duration']}")
