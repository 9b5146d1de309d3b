"""`python/examples/cora.py` runs: the GAT paper's setup with gatgrad's layers on the embedded
Cora, as a torch_geometric Data. A short run here (the full 200 epochs reach PyG's 81-83 %)."""

import importlib.util
from pathlib import Path

import gatgrad.torch as gt

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cora.py"


def test_embedded_cora_is_planetoids():
    data = gt.planetoid("cora")
    assert tuple(data.x.shape) == (2708, 1433)
    assert data.edge_index.shape == (2, 10556)
    assert data.num_classes == 7
    assert [int(m.sum()) for m in (data.train_mask, data.val_mask, data.test_mask)] == [140, 500, 1000]


def test_cora_example_learns():
    spec = importlib.util.spec_from_file_location("cora_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--epochs", "40"]) > 0.72
