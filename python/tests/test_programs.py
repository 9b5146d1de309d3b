"""The `.gat` programs generated from PyG options (`gatgrad/_programs.py`): each configuration
compiled into the extension is generated exactly (the generator equals the reviewed files), and
every combination of options compiles, with PyG's parameter names and shapes."""

import itertools
import re
from pathlib import Path

import pytest
import torch_geometric.nn as pyg

import gatgrad.torch as gt
from gatgrad import _gatgrad, _programs

# The compiled-in program of each configuration that has one (python/src/models.rs, BUILT_IN).
COMPILED_IN = {
    ("GATv2Conv", ()): "gatv2",
    ("GATv2Conv", ("concat",)): "gatv2_mean",
    ("GATv2Conv", ("add_self_loops",)): "gatv2_no_loops",
    ("GATv2Conv", ("edge_dim",)): "gatv2_edge_attr",
    ("GATv2Conv", ("bias",)): "gatv2_no_bias",
    ("GATv2Conv", ("share_weights",)): "gatv2_shared",
    ("GATv2Conv", ("residual",)): "gatv2_residual",
    ("GATConv", ()): "gat",
    ("GATConv", ("concat",)): "gat_mean",
    ("GATConv", ("add_self_loops",)): "gat_no_loops",
}
# A value of each option that differs from PyG's default.
CHANGED = {
    "concat": False,
    "add_self_loops": False,
    "edge_dim": 4,
    "bias": False,
    "share_weights": True,
    "residual": True,
}


def every_configuration():
    for kind, options in _programs.OPTIONS.items():
        names = [o for o, _ in options]
        for k in range(len(names) + 1):
            for key in itertools.combinations(names, k):
                yield kind, key


def test_every_compiled_in_configuration_is_generated_exactly():
    """The generated text of each configuration compiled in is recognised as that program (same
    canonical text: declarations, equations, names): the generator equals the reviewed files."""
    for (kind, key), name in COMPILED_IN.items():
        path = _programs.program_file(kind, key)
        assert _gatgrad.model_for_file(str(path)) == name, (kind, key, path.read_text())
        assert _gatgrad.model_for_text("x.gat", path.read_text()) == name
    # and every GAT / GATv2 program compiled in is one of them
    assert set(COMPILED_IN.values()) == {n for n, _ in gt.models() if n.startswith("gat")}


def test_only_the_compiled_in_configurations_are_compiled_in():
    for kind, key in every_configuration():
        model = _gatgrad.model_for_file(str(_programs.program_file(kind, key)))
        assert model == COMPILED_IN.get((kind, key)), (kind, key)


@pytest.mark.parametrize("kind,key", list(every_configuration()), ids=lambda v: str(v))
def test_every_combination_has_pygs_parameters(kind, key):
    """PyG's parameter names and shapes, read from the generated program's declarations (its
    `as "name" [shape]` parts), for heads=2, out_channels=3, in_channels=5, edge_dim=4."""
    text = _programs.program_text(kind, key)
    sizes = {"H": 2, "C": 3, "F": 5, "D": 4}
    ours = {}
    for name, shape in re.findall(r'^\s*param .* as "([^"]+)"\s*\[([^\]]*)\];', text, re.M):
        ours[name] = tuple(eval(d, {}, dict(sizes)) for d in shape.split(","))
    ref = getattr(pyg, kind)(5, 3, heads=2, **{o: CHANGED[o] for o in key})
    # Parameters once each (with share_weights, PyG's state_dict also holds `lin_l`'s tensors
    # under `lin_r`, as gatgrad's module does).
    assert ours == {k: tuple(v.shape) for k, v in ref.named_parameters()}
    assert ("self_loops;" in text) == ("add_self_loops" not in key)
    assert ('as "edge_attr"' in text) == ("edge_dim" in key)


def test_compiled_in_configurations_need_no_cache_folder(monkeypatch, tmp_path):
    """A layer of a compiled-in configuration writes nothing (a read-only cache is fine); one
    that must be built says which folder to make writable."""
    monkeypatch.setattr(_programs, "_MODELS", {})
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(_programs, "_folder", lambda: blocked / "programs")
    assert gt.GATv2Conv(4, 4, residual=True).model == "gatv2_residual"
    with pytest.raises(RuntimeError, match="set GATGRAD_CACHE_DIR to a writable folder"):
        gt.GATv2Conv(4, 4, residual=True, bias=False)


def test_names_are_distinct_and_files_go_to_the_cache():
    names = [_programs.program_name(k, key) for k, key in every_configuration()]
    assert len(set(names)) == len(names)
    path = _programs.program_file("GATConv", ("edge_dim", "residual"))
    assert path.parent == Path(_gatgrad.cache_dir()) / "programs"
    assert path.name == "gat_edge_attr_residual.gat"


def test_build_refuses_what_is_not_a_configuration():
    with pytest.raises(TypeError, match="is not GATv2Conv or GATConv"):
        gt.build(("Linear", {}))
    with pytest.raises(TypeError, match="GATConv has no argument share_weights"):
        gt.build((gt.GATConv, {"share_weights": True}))
    with pytest.raises(TypeError, match="pair"):
        gt.build(gt.GATConv)
    assert gt.build((gt.GATv2Conv, {"concat": False, "heads": 4})) == ["gatv2_mean"]
