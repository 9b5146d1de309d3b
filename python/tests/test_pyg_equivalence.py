"""gatgrad's GATv2Conv and GATConv against PyG's, option by option and in combinations, with
PyG's state_dict loaded as is: outputs, attention weights and every gradient within 1e-10 in
float64, within float32 rounding in float32."""

import pytest
import torch
import torch_geometric.nn as pyg

import gatgrad.torch as gt
from conftest import graph, run

GATV2 = [
    {},
    {"heads": 3},
    {"heads": 2, "concat": False},
    {"heads": 2, "add_self_loops": False},
    {"heads": 2, "edge_dim": 3},
    {"heads": 2, "bias": False},
    {"heads": 2, "share_weights": True},
    {"heads": 2, "residual": True},
    {"heads": 4, "negative_slope": 0.05},
    # Combinations: generated programs not compiled in, built on first use (one build for all
    # of this module's, `built` below).
    {"heads": 2, "concat": False, "add_self_loops": False, "bias": False},
    {"heads": 2, "edge_dim": 3, "residual": True, "share_weights": True},
    {"heads": 3, "concat": False, "residual": True, "edge_dim": 2},
]
GAT = [
    {},
    {"heads": 3},
    {"heads": 2, "concat": False},
    {"heads": 2, "add_self_loops": False},
    {"heads": 2, "negative_slope": 0.3},
    # Not compiled in: generated programs built on first use.
    {"heads": 2, "edge_dim": 3},
    {"heads": 2, "bias": False},
    {"heads": 2, "residual": True},
    {"heads": 2, "edge_dim": 3, "residual": True},
    {"heads": 3, "concat": False, "add_self_loops": False, "edge_dim": 2, "bias": False, "residual": True},
]
CASES = [("GATv2Conv", o) for o in GATV2] + [("GATConv", o) for o in GAT]
DROPOUT = [
    ("GATv2Conv", {"heads": 2, "dropout": 0.4}),
    ("GATConv", {"heads": 2, "dropout": 0.4}),
    ("GATv2Conv", {"heads": 2, "dropout": 0.4, "concat": False, "add_self_loops": False, "bias": False}),
]


@pytest.fixture(scope="module", autouse=True)
def built():
    """Every configuration of this module that is not compiled in, built in ONE extension module
    (one cargo build, not one per configuration): what `gatgrad.torch.build` is for."""
    return gt.build(*CASES, *DROPOUT)


def pair(kind, options, dtype, f=7, c=5):
    ref = getattr(pyg, kind)(f, c, **options).to(dtype)
    ours = getattr(gt, kind)(f, c, **options).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def inputs(options, dtype, n=40, f=7):
    x = torch.randn(n, f, generator=torch.Generator().manual_seed(5), dtype=dtype)
    ei = graph(n)
    ea = None
    if options.get("edge_dim"):
        ea = torch.randn(ei.shape[1], options["edge_dim"], dtype=dtype)
    return x, ei, ea


def compare(a, b, tol_rel):
    ref_out, ref_ei, ref_alpha, ref_grads = a
    out, ei, alpha, grads = b
    assert torch.equal(ei, ref_ei), "attention edge index differs from PyG's"
    scale = lambda t: max(1.0, t.abs().max().item())
    assert (out - ref_out).abs().max().item() <= tol_rel * scale(ref_out), "out"
    assert (alpha - ref_alpha).abs().max().item() <= tol_rel, "alpha"
    assert set(grads) == set(ref_grads)
    for name, g in ref_grads.items():
        assert grads[name] is not None, f"no gradient for {name}"
        err = (grads[name] - g).abs().max().item()
        assert err <= tol_rel * scale(g), f"gradient of {name} differs by {err:e}"


@pytest.mark.parametrize("kind,options", CASES, ids=[f"{k}-{o}" for k, o in CASES])
def test_float64_equals_pyg(kind, options):
    ref, ours = pair(kind, options, torch.float64)
    assert set(ours.state_dict()) == set(ref.state_dict())
    for k, v in ref.state_dict().items():
        assert ours.state_dict()[k].shape == v.shape, k
    x, ei, ea = inputs(options, torch.float64)
    compare(run(ref, x, ei, ea), run(ours, x, ei, ea), 1e-10)


@pytest.mark.parametrize("kind,options", CASES, ids=[f"{k}-{o}" for k, o in CASES])
def test_float32_within_rounding(kind, options):
    ref, ours = pair(kind, options, torch.float32)
    x, ei, ea = inputs(options, torch.float32)
    compare(run(ref, x, ei, ea), run(ours, x, ei, ea), 2e-5)
    out = ours(x, ei, edge_attr=ea) if ea is not None else ours(x, ei)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("kind,options", DROPOUT, ids=[f"{k}-{o}" for k, o in DROPOUT])
def test_dropout_in_training_matches_pyg(kind, options):
    """The dropout mask is drawn from torch's generator on PyG's [E, H] attention, so one seed
    gives PyG's mask, outputs, attention (after dropout, as PyG reports it) and gradients."""
    ref, ours = pair(kind, options, torch.float64)
    ref.train(), ours.train()
    x, ei, _ = inputs({}, torch.float64)
    torch.manual_seed(11)
    a = run(ref, x, ei)
    torch.manual_seed(11)
    b = run(ours, x, ei)
    assert (a[2] == 0).any(), "the mask drops nothing: the test would not see a wrong mask"
    compare(a, b, 1e-10)


@pytest.mark.parametrize("kind,options", CASES, ids=[f"{k}-{o}" for k, o in CASES])
def test_initialisation_is_pygs(kind, options):
    torch.manual_seed(3)
    ref = getattr(pyg, kind)(7, 5, **options)
    torch.manual_seed(3)
    ours = getattr(gt, kind)(7, 5, **options)
    for k, v in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[k], v), k


def test_built_configurations_are_not_compiled_in(built):
    """The combinations above really run generated programs built on first use (all in one
    module), the single options of GATv2Conv programs compiled in."""
    assert len(built) == len(CASES) + len(DROPOUT)
    modules = {m.split("/")[0] for m in built if m.startswith("built:")}
    assert len(modules) == 1
    ours = gt.GATv2Conv(4, 4, heads=2, edge_dim=3, residual=True, share_weights=True)
    assert ours.model.startswith("built:") and ours.model in built
    assert gt.GATv2Conv(4, 4, residual=True).model == "gatv2_residual"


def test_unsupported_options_name_themselves():
    with pytest.raises(NotImplementedError, match="aggr='add'"):
        gt.GATv2Conv(4, 4, concat=False, residual=True, aggr="add")
    with pytest.raises(NotImplementedError, match="lazy in_channels=-1"):
        gt.GATConv(-1, 4, edge_dim=3, residual=True)
    with pytest.raises(NotImplementedError, match="fill_value"):
        gt.GATv2Conv(4, 4, edge_dim=2, fill_value=0.0)
    with pytest.raises(NotImplementedError, match="bipartite"):
        gt.GATv2Conv((4, 5), 4)
    with pytest.raises(NotImplementedError, match="bipartite"):
        gt.GATv2Conv(4, 4)((torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(2, 0, dtype=torch.long))
