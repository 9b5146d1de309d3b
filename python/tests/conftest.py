"""Shared helpers of the Python tests: small random graphs and a comparison of a gatgrad layer
with the PyG layer it replaces, on PyG's own state_dict."""

import os
from pathlib import Path

import pytest
import torch
import torch_geometric.nn as pyg

# Programs built on first use go to a cache under target/ (never the user's ~/.cache). Its shared
# cargo target folder is the workspace's own target/ (unless GATGRAD_CACHE_TARGET_DIR is set):
# `cargo test --workspace --release` and `pip install ./python` have built gatgrad,
# gatgrad-python, pyo3, numpy, rayon... there already, with the same features, flags, profile and
# PYO3_PYTHON (see .ci/run), so a build compiles only the generated crate instead of compiling
# them all a second time (5-12 min on 2 cores: BENCHMARKS.md, "CI cost of on-demand builds").
TARGET = Path(__file__).resolve().parents[2] / "target"
os.environ["GATGRAD_CACHE_DIR"] = str(TARGET / "pytest-gatgrad-cache")
os.environ.setdefault("GATGRAD_CACHE_TARGET_DIR", str(TARGET))


def graph(n=40, e=160, seed=0, loops=3):
    """A random directed graph with duplicate edges, a few self loops and isolated targets."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    ei[1, ei[1] == n - 1] = 0  # node n-1 has no in-edges
    ei[1, :loops] = ei[0, :loops]  # some existing self loops, which PyG replaces
    return ei


def run(layer, x, ei, edge_attr=None, grad_seed=1):
    """Output, attention (edge index and weights) and the gradients of x, edge_attr and every
    parameter for a fixed random weighting of the output."""
    x = x.clone().requires_grad_(True)
    kwargs = {}
    if edge_attr is not None:
        edge_attr = edge_attr.clone().requires_grad_(True)
        kwargs["edge_attr"] = edge_attr
    out, (aei, alpha) = layer(x, ei, return_attention_weights=True, **kwargs)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(grad_seed), dtype=out.dtype)
    (out * w).sum().backward()
    grads = {"x": x.grad}
    if edge_attr is not None:
        grads["edge_attr"] = edge_attr.grad
    for name, p in layer.named_parameters():
        grads[name] = p.grad
    return out.detach(), aei, alpha.detach(), grads


def assert_equals_pyg_residual_gatv2(ours):
    """`ours`, loaded with the state_dict of PyG's `GATv2Conv(7, 5, heads=3, residual=True)`,
    gives its output, attention and every gradient within 1e-10 (float64)."""
    ref = pyg.GATv2Conv(7, 5, heads=3, residual=True).double()
    ours = ours.double()
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(40, 7, dtype=torch.float64)
    ei = graph(40)
    a, b = run(ref, x, ei), run(ours, x, ei)
    assert torch.equal(a[1], b[1])
    assert (a[0] - b[0]).abs().max() <= 1e-10
    assert (a[2] - b[2]).abs().max() <= 1e-10
    assert set(a[3]) == set(b[3])
    for name, g in a[3].items():
        assert (b[3][name] - g).abs().max() <= 1e-10 * max(1.0, g.abs().max().item()), name


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)
