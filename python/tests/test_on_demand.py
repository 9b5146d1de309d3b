"""`Layer` on a `.gat` file whose program is NOT compiled into the extension: its generated code
is built on first use into an extension module of its own (the on-demand cache), then compared
with PyG's `GATv2Conv(residual=True)` within 1e-10 in float64, gradients included, and put under
torch's own checks. One build for the whole session (`variant` fixture); the cache folder is under
`target/` (set in conftest.py), never `~/.cache`."""

import contextlib
import io
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch_geometric.nn as pyg

import gatgrad.torch as gt
from gatgrad import _gatgrad
from conftest import assert_equals_pyg_residual_gatv2, graph, run

ROOT = Path(__file__).resolve().parents[2]
RESIDUAL = ROOT / "examples/variants/gatv2_residual_split.gat"
OUT = "out[i, h, c] = sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + res[i, h, c] + bias[h, c];"
# The same function with the residual term first: another program (terms keep their order), so
# not one compiled in, and PyG's residual GATv2 up to rounding.
FILE_NAME = "residual_first.gat"
REORDERED = "out[i, h, c] = res[i, h, c] + sum_{j -> i} alpha[i <- j, h] * xl[j, h, c] + bias[h, c];"


def variant_text() -> str:
    text = RESIDUAL.read_text()
    assert OUT in text
    return "// A user's variant: the residual added first.\n" + text.replace(OUT, REORDERED)


@pytest.fixture(scope="session")
def variant(tmp_path_factory):
    """The variant's file and its one build: what the build printed and how long it took."""
    cache = Path(os.environ["GATGRAD_CACHE_DIR"])
    # The variant's entry from an earlier run goes, the shared cargo target folder stays: each
    # session builds this program once (its own crate only, once gatgrad's pieces are in the
    # cache), so the first-use path is always the one tested.
    for manifest in (cache / "entries").glob("*/manifest.txt"):
        lines = manifest.read_text().splitlines()
        if any(l.startswith("what = ") and l.endswith("/" + FILE_NAME) for l in lines):
            shutil.rmtree(manifest.parent)
    f = tmp_path_factory.mktemp("variant") / FILE_NAME
    f.write_text(variant_text())
    assert _gatgrad.model_for_file(str(f)) is None, "the variant must not be compiled in"
    log = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stderr(log):
        layer = gt.Layer(f, F=7, H=3, C=5)
    return SimpleNamespace(file=f, log=log.getvalue(), seconds=time.monotonic() - start, layer=layer)


def test_first_use_prints_one_line_then_the_build_time(variant):
    lines = variant.log.splitlines()
    assert len(lines) == 2, variant.log
    assert lines[0].startswith(f"gatgrad: compiling generated code for {variant.file}, first use")
    assert lines[1].startswith("gatgrad: built in ") and lines[1].endswith(" s; later uses start at once")
    print(f"\non-demand build of {variant.file.name}: {variant.seconds:.1f} s ({lines[1]})")


def test_later_uses_hit_the_cache_silently(variant, tmp_path, capsys):
    # Another file of the same program (comments and spacing differ) shares the entry.
    other = tmp_path / "respelled.gat"
    other.write_text("// my copy\n" + variant.file.read_text().replace("    ", "  "))
    start = time.monotonic()
    layer = gt.Layer(other, F=4, H=2, C=3)
    assert time.monotonic() - start < 10
    assert capsys.readouterr().err == ""
    assert layer.model == variant.layer.model and layer.model.startswith("built:")


def test_built_variant_equals_pyg_residual_gatv2(variant):
    assert_equals_pyg_residual_gatv2(gt.Layer(variant.file, F=7, H=3, C=5))


def test_built_variant_with_dropout_in_training_matches_pyg(variant):
    ref = pyg.GATv2Conv(7, 5, heads=3, residual=True, dropout=0.3).double()
    ours = gt.Layer(variant.file, F=7, H=3, C=5, dropout=0.3).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(40, 7, dtype=torch.float64)
    ei = graph(40)
    torch.manual_seed(5)
    a = ref(x, ei)
    torch.manual_seed(5)
    b = ours(x, ei)
    assert (a - b).abs().max() <= 1e-10


def test_built_variant_gradcheck_and_opcheck(variant):
    torch.manual_seed(0)
    layer = gt.Layer(variant.file, F=4, H=2, C=3).double()
    x = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    ei = graph(12, 40)
    params = [gt._get(layer, n).detach().clone().requires_grad_(True) for n in layer._cfg["params"]]

    def f(x, *params):
        return torch.ops.gatgrad.layer(layer.model, layer._config_text, [x], ei, list(params), [], True, True)[0]

    assert torch.autograd.gradcheck(f, (x, *params))
    torch.library.opcheck(
        torch.ops.gatgrad.layer.default,
        (layer.model, layer._config_text, [x], ei, params, [], True, True),
    )


def test_built_variant_under_torch_compile_has_no_graph_break(variant):
    torch.manual_seed(0)
    layer = gt.Layer(variant.file, F=4, H=2, C=3).double()
    x = torch.randn(12, 4, dtype=torch.float64)
    ei = graph(12, 40)
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True)
    assert torch.equal(compiled(x, ei), layer(x, ei))


def test_built_variant_checks_input_as_compiled_in_programs_do(variant):
    layer = gt.Layer(variant.file, F=4, H=2, C=3).double()
    x = torch.randn(12, 4, dtype=torch.float64)
    bad = graph(12, 40).clone()
    bad[1, 7] = 12
    with pytest.raises(IndexError, match=r"edge_index\[1, 7\] = 12 is not a node id: x has 12 nodes"):
        layer(x, bad)
    with pytest.raises(ValueError, match="parameter `lin_l.weight` has dtype torch.float64 but the input torch.float32"):
        layer(x.float(), graph(12, 40))
    with pytest.raises(ValueError, match="`x` has dtype int64; expected float32 or float64"):
        layer(x.long(), graph(12, 40))


def test_without_cargo_the_error_names_what_to_install(variant, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CARGO", raising=False)
    monkeypatch.delenv("RUSTC", raising=False)
    with pytest.raises(RuntimeError, match=r"`cargo` is not on PATH.*install Rust with rustup"):
        gt.Layer(variant.file, F=4, H=2, C=3)
