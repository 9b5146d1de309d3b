#!/usr/bin/env python3
"""Interleaved comparison of gatgrad builds on one graph, for noisy machines.

    python benches/interleave.py ROUNDS GRAPH.safetensors BIN [BIN ...]

Runs `BIN bench --model $MODEL (default gatv2) --graph GRAPH --threads $T (default 2) $EXTRA`
with `GATGRAD_PROFILE=1` for every binary in each round, alternating the order every round, and
prints the median of each reported figure (total, forward, backward, yardstick, passes, peak RSS)
and of each kernel's time, one column per binary. Only ratios between columns of one run mean
anything on a shared machine.
"""
import json
import os
import re
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, graph, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    extra = os.environ.get("EXTRA", "").split()
    res = {b: {} for b in bins}
    for r in range(rounds):
        for b in bins if r % 2 == 0 else bins[::-1]:
            cmd = [b, "bench", "--model", os.environ.get("MODEL", "gatv2"), "--graph", graph,
                   "--threads", os.environ.get("T", "2")] + extra
            p = subprocess.run(cmd, capture_output=True, text=True,
                               env=dict(os.environ, GATGRAD_PROFILE="1"))
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
            d = res[b]
            for line in (p.stdout + p.stderr).splitlines():
                m = re.match(r"\s*(forward_\S+|backward_\S+)\s+([\d.]+) ms", line)
                if m:
                    d.setdefault(m.group(1), []).append(float(m.group(2)))
                if line.startswith("{"):
                    j = json.loads(line)
                    for k in ["total_s", "forward_s", "backward_s", "yardstick_s", "passes",
                              "peak_rss_mib"]:
                        d.setdefault(k, []).append(j[k])
    print("%-18s" % "", *["%16s" % os.path.basename(b)[-16:] for b in bins])
    for k in res[bins[0]]:
        print("%-18s" % k,
              *["%16.4g" % statistics.median(res[b].get(k, [float("nan")])) for b in bins])


if __name__ == "__main__":
    main()
