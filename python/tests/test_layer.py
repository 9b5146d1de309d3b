"""`gatgrad.torch.Layer`: a `.gat` file as a module, its parameters under the file's external
names, so a PyG layer's state_dict loads as is."""

from pathlib import Path

import pytest
import torch
import torch_geometric.nn as pyg

import gatgrad.torch as gt
from conftest import assert_equals_pyg_residual_gatv2, graph

ROOT = Path(__file__).resolve().parents[2]
RESIDUAL = ROOT / "examples/variants/gatv2_residual_split.gat"


def test_residual_file_equals_pyg_residual_gatv2():
    assert_equals_pyg_residual_gatv2(gt.Layer(RESIDUAL, F=7, H=3, C=5))


def test_constants_are_keyword_arguments():
    ref = pyg.GATv2Conv(7, 5, heads=2, residual=True, negative_slope=0.07).double()
    ours = gt.Layer(RESIDUAL, F=7, H=2, C=5, slope=0.07).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(40, 7, dtype=torch.float64)
    ei = graph(40)
    assert (ref(x, ei) - ours(x, ei)).abs().max() <= 1e-10


def test_initialisation_glorot_weights_zero_biases():
    torch.manual_seed(0)
    layer = gt.Layer(ROOT / "models/gatv2.gat", F=6, H=2, C=3)
    assert torch.equal(layer.bias, torch.zeros(6))
    assert torch.equal(layer.lin_l.bias, torch.zeros(6))
    bound = (6.0 / (6 + 6)) ** 0.5
    w = layer.lin_l.weight
    assert w.shape == (6, 6) and w.abs().max() <= bound and w.std() > bound / 4


def test_unknown_size_or_constant_is_refused():
    with pytest.raises(TypeError, match="has no dimension or constant `K`"):
        gt.Layer(RESIDUAL, F=7, H=2, C=5, K=3)


def test_file_that_does_not_compile_gives_the_diagnostic(tmp_path):
    f = tmp_path / "broken.gat"
    f.write_text("layer broken { dims F; input x[n: node, f: F]; out[n] = y[n]; output out; }")
    with pytest.raises(ValueError, match="broken.gat:1:"):
        gt.Layer(f, F=3)
