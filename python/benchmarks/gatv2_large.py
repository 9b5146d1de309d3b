"""Forward + backward of GATv2Conv(64, 16, heads=4) on a random 100k-node / 1M-edge graph, gatgrad
against PyG in the same process: median of 3 timed runs after one warm-up, and each one's peak
resident memory above the process's (Linux: VmHWM, reset through /proc/self/clear_refs).

    python python/benchmarks/gatv2_large.py [--threads 2] [--dtype float32] [--reps 3]
"""

import argparse
import statistics
import time

import torch
import torch_geometric.nn as pyg

import gatgrad.torch as gt


def rss_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def bench(layer, x, ei, reps):
    times = []
    for rep in range(reps + 1):
        layer.zero_grad()
        xr = x.clone().requires_grad_(True)
        t = time.perf_counter()
        out = layer(xr, ei)
        out.backward(torch.ones_like(out))
        if rep:
            times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=1_000_000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.nodes, 64, generator=g, dtype=dtype)
    ei = torch.randint(0, args.nodes, (2, args.edges), generator=g)
    ref = pyg.GATv2Conv(64, 16, heads=4).to(dtype)
    ours = gt.GATv2Conv(64, 16, heads=4).to(dtype)
    ours.load_state_dict(ref.state_dict())
    results = {}
    for name, layer in [("gatgrad", ours), ("PyG", ref)]:
        base = rss_mib("VmRSS:")
        reset_peak()
        med, times = bench(layer, x, ei, args.reps)
        peak = rss_mib("VmHWM:") - base
        results[name] = med
        print(f"{name:8s} forward+backward median {med:.3f} s "
              f"(runs {', '.join(f'{t:.3f}' for t in times)}), peak +{peak:.0f} MiB")
    print(f"speed-up {results['PyG'] / results['gatgrad']:.1f}x "
          f"({args.nodes} nodes, {args.edges} edges, {args.threads} threads, {args.dtype})")


if __name__ == "__main__":
    main()
