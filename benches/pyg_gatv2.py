"""PyG's side of `gatgrad bench`: GATv2Conv forward + backward on a graph file of `gatgrad gen-graph`.

    python benches/pyg_gatv2.py g.safetensors [--features 64 --heads 4 --channels 16 --threads 2]

Runs `GATv2Conv(F, C, heads=H)` (PyG's defaults: self loops added, concat) in float32 on random
features, times forward + `out.sum().backward()` `--reps` times after one warm-up run and prints one
JSON line with the medians and the process's peak RSS. Reads the safetensors file itself (header
length, JSON header, raw little-endian data), so it needs only torch and torch_geometric.
"""

import argparse
import json
import resource
import statistics
import struct
import time

import numpy as np
import torch
from torch_geometric.nn import GATv2Conv


def edge_index_of(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    info = header["edge_index"]
    assert info["dtype"] == "I64", info
    start, end = info["data_offsets"]
    ei = np.frombuffer(data[start:end], dtype="<i8").reshape(info["shape"])
    num_nodes = int(header.get("__metadata__", {}).get("num_nodes", ei.max() + 1))
    return torch.from_numpy(ei.copy()), num_nodes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graph")
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    edge_index, n = edge_index_of(a.graph)
    x = torch.randn(n, a.features)
    conv = GATv2Conv(a.features, a.channels, heads=a.heads)
    fw, bw = [], []
    for rep in range(a.reps + 1):
        conv.zero_grad()
        t0 = time.perf_counter()
        out = conv(x, edge_index)
        t1 = time.perf_counter()
        out.sum().backward()
        t2 = time.perf_counter()
        if rep > 0:
            fw.append(t1 - t0)
            bw.append(t2 - t1)
    total = [f + b for f, b in zip(fw, bw)]
    print(json.dumps({
        "library": "pyg",
        "torch": torch.__version__,
        "nodes": n,
        "edges": int(edge_index.shape[1]),
        "threads": a.threads,
        "forward_s": statistics.median(fw),
        "backward_s": statistics.median(bw),
        "total_s": statistics.median(total),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
