"""Per run of a call's directory (c/, d/, e.txt): score, stages, GPU busy, GC pauses and the job's timeline from the
log file: when the first and last cell finished reading (s after the cells' tasks began), the first partial,
the last partial, and the tail (stage end after the last partial)."""
import datetime, glob, os, re, sys


def ts(line):
    return datetime.datetime.strptime(line[:23], '%Y-%m-%d %H:%M:%S.%f').timestamp()


def timeline(log_lines, score_text):
    rin = [l for l in log_lines if 'cell(s) read in' in l]
    cells = [l for l in log_lines if 'first partial after' in l]
    t0 = min(ts(l) - int(re.search(r'read in (\d+) ms', l).group(1)) / 1000 for l in rin)
    first_partials, last_partial = [], 0
    for l in cells:
        m = re.search(r'first partial after (\d+) ms more, last after (\d+) ms', l)
        start = ts(l) - int(m.group(2)) / 1000
        first_partials.append(start + int(m.group(1)) / 1000 - t0)
        last_partial = max(last_partial, ts(l) - t0)
    stage = float(re.search(r'done: \d+ tasks in ([0-9.]+)s', score_text).group(1))
    waits = [int(x) for x in re.findall(r'the first began (\d+) ms', ' '.join(log_lines))]
    return (min(ts(l) for l in rin) - t0, max(ts(l) for l in rin) - t0, min(first_partials), last_partial,
            stage - last_partial, waits)


def main(d):
    for name in sorted(os.listdir(d), key=lambda n: os.path.getmtime(os.path.join(d, n))):
        run = os.path.join(d, name)
        if not os.path.isdir(run) or not os.path.exists(os.path.join(run, 'score-1m-local-0.log')):
            continue
        s = open(os.path.join(run, 'score-1m-local-0.log')).read()
        log = open(os.path.join(run, 'spark-1m-local-0.log')).read().splitlines()
        score = float(re.search(r'in ([0-9.]+)s ->', s).group(1))
        g = lambda k: float(re.search(k + r' ([0-9.]+)s', s).group(1))
        table = open(os.path.join(run, 'table-1m.txt')).read()
        busy = re.search(r'gpu0 ([0-9.]+)s', table).group(1)
        gc = [float(x) for x in re.findall(r'Pause.* ([0-9.]+)ms', open(os.path.join(d, 'gc-%s.log' % name)).read())]
        fr, lr, fp, lp, tail, waits = timeline(log, s)
        print('| %s | %.2f s | %.2f | %.2f | %.1f | %.1f | %s s | %.2f s (%d) | %.2f | %.2f | %.2f | %.2f | %.2f |' % (
            name, score, g('count tokens and plan'), g('compute'), g('reading their blocks'),
            g('writing output after the cells'), busy, sum(gc) / 1000, len(gc), fr, lr, fp, lp, tail))


if __name__ == '__main__':
    main(sys.argv[1])
