"""The false-alarm table of pdca.engine.detection (`_FALSE_ALARM_EVERY`): expected false
occurrences per judged point, per SPC rule, on the bad side (BELOW for
higher-is-better, plus the side-less rules), for limits estimated from n baseline points."""

import random
import sys

from pdca.engine import detection as d

NS = [8, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 0]
# Run: python docs/spc_false_alarms.py 1500 400   (about 20 minutes on one core)
R, L = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(20261128)
out = {}
for n in NS:
    counts = {r: 0 for r in d.SPC_RULES}
    judged = 0
    for _ in range(R):
        if n:
            base = [rng.gauss(0, 1) for _ in range(n)]
            limits = d.control_limits(base)
            if limits is None:
                continue
        else:
            base = [rng.gauss(0, 1) for _ in range(20)]
            limits = d.ControlLimits(0.0, 1.0)
        values = base + [rng.gauss(0, 1) for _ in range(L)]
        for i in range(len(base), len(values)):
            for rule, side, _ in d._spc_at(values, i, limits):
                if side in (d.BELOW, d.BOTH):
                    counts[rule] += 1
        judged += L
    out[n] = {r: c / judged for r, c in counts.items()}
    print(n, {r: round(1 / v) if v else None for r, v in out[n].items()}, flush=True)
