"""Where one gatgrad call of python/benchmarks/gatv2_large.py spends its time: the extension's
`forward`, `outputs` and `backward` on a prepared graph (no torch operator around them), then the
module's forward and backward.

    cd target && python ../python/benchmarks/gatv2_large_split.py
"""
import time, json, torch, numpy as np
import gatgrad.torch as gt
from gatgrad import _ops
torch.set_num_threads(2)
g = torch.Generator().manual_seed(1)
N, E = 100_000, 1_000_000
x = torch.randn(N, 64, generator=g)
ei = torch.randint(0, N, (2, E), generator=g)
layer = gt.GATv2Conv(64, 16, heads=4)
cfg = layer._config_text
params = [gt._get(layer, n) for n in layer._cfg["params"]]
ext = gt._ext
graph = _ops._prepared(ei, N)
tensors = {"x": x.numpy()}
tensors.update({"param." + n: p.detach().numpy() for n, p in zip(layer._cfg["params"], params)})
c = json.loads(cfg)
for rep in range(3):
    t0 = time.perf_counter()
    run = ext.forward(layer.model, graph, tensors, {}, c["consts"], c["dims"], True, 2)
    t1 = time.perf_counter()
    res = run.outputs()
    t2 = time.perf_counter()
    seed = np.ones(res["out"].shape, dtype=np.float32)
    grads = run.backward(seed)
    t3 = time.perf_counter()
    print(f"forward {t1-t0:.3f}  outputs {t2-t1:.3f}  backward {t3-t2:.3f}  total {t3-t0:.3f}")
# a copy of x to f64 alone, and of the graph
t0 = time.perf_counter(); y = x.numpy().astype(np.float64); t1 = time.perf_counter()
print(f"x to f64 copy (numpy) {t1-t0:.3f}")
xr = x.clone().requires_grad_(True)
for rep in range(3):
    t0 = time.perf_counter(); out = layer(xr, ei); t1 = time.perf_counter(); out.backward(torch.ones_like(out)); t2 = time.perf_counter()
    print(f"module forward {t1-t0:.3f} backward {t2-t1:.3f}")
