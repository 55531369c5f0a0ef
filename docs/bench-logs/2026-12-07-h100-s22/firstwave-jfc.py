# Writes a Flight Recorder settings file for the first wave of reads: the "profile" settings with class loading
# recorded, locks, parks, file reads and compilations from 1 ms, and each thread's CPU load every 100 ms.
import re, sys
src, dst = sys.argv[1], sys.argv[2]
t = open(src).read()
def setting(event, name, value):
    global t
    pattern = r'(<event name="%s">(?:(?!</event>).)*?<setting name="%s"[^>]*>)[^<]*(</setting>)' % (re.escape(event), name)
    t, n = re.subn(pattern, lambda m: m.group(1) + value + m.group(2), t, count=1, flags=re.S)
    if n != 1: sys.exit(f"no setting {name} for {event}")
for e in ['jdk.ClassLoad', 'jdk.ClassDefine']: setting(e, 'enabled', 'true')
for e in ['jdk.JavaMonitorEnter', 'jdk.ThreadPark', 'jdk.FileRead', 'jdk.ThreadSleep', 'jdk.Compilation']:
    setting(e, 'threshold', '1 ms')
setting('jdk.ThreadCPULoad', 'period', '100 ms')
open(dst, 'w').write(t)
