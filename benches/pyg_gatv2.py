"""PyG's side of `gatgrad bench`: GATv2Conv forward + backward on a graph file of `gatgrad gen-graph`.

    python benches/pyg_gatv2.py g.safetensors [--features 64 --heads 4 --channels 16 --threads 2]

Runs `GATv2Conv(F, C, heads=H)` (PyG's defaults: self loops added, concat) in float32 on random
features, times forward + `out.sum().backward()` `--reps` times after one warm-up run and prints one
JSON line with the medians and the process's peak RSS. It also times the issue's yardstick in the
same process: torch's CSR sparse × dense product (`torch.sparse.mm`) at width H·C over the same
graph with PyG's self loops, `torch_csr_s` — one sum aggregation pass. Reads the safetensors file itself (header
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
    # The yardstick: one CSR sum aggregation at width H·C on the graph GATv2Conv runs on.
    from torch_geometric.utils import add_self_loops, remove_self_loops

    looped, _ = add_self_loops(remove_self_loops(edge_index)[0], num_nodes=n)
    values = torch.ones(looped.shape[1])
    adj = torch.sparse_coo_tensor(looped.flip(0), values, (n, n)).coalesce().to_sparse_csr()
    h = torch.randn(n, a.heads * a.channels)
    csr = []
    for rep in range(a.reps + 1):
        t0 = time.perf_counter()
        torch.sparse.mm(adj, h)
        if rep > 0:
            csr.append(time.perf_counter() - t0)
    print(json.dumps({
        "library": "pyg",
        "torch": torch.__version__,
        "nodes": n,
        "edges": int(edge_index.shape[1]),
        "threads": a.threads,
        "forward_s": statistics.median(fw),
        "backward_s": statistics.median(bw),
        "total_s": statistics.median(total),
        "torch_csr_s": statistics.median(csr),
        "passes": statistics.median(total) / statistics.median(csr),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
