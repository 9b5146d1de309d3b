"""gatgrad's generated graph-attention layers as PyTorch modules.

``GATv2Conv`` and ``GATConv`` take PyTorch Geometric's constructor arguments, hold PyG's
``state_dict`` keys and shapes, initialise as PyG does and return what PyG's ``forward`` returns;
``Layer(path, **sizes_and_constants)`` runs any layer ``.gat`` file: one compiled into the
extension, or else one whose generated code is built on first use into an extension module of
its own (cached in ``GATGRAD_CACHE_DIR``, default ``~/.cache/gatgrad``; needs ``cargo``). All of
them call two custom operators, ``gatgrad::layer`` (the generated forward) and
``gatgrad::layer_backward`` (the generated backward), registered with ``register_autograd`` and
``register_fake``, so they work under autograd and ``torch.compile`` without graph breaks.

Only CPU tensors in float32 or float64 are supported for now.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _gatgrad as _ext
from . import _programs
from ._backends import _backend, _model_of_file
# The operators (registered on import) and the caches of graphs and runs.
from ._ops import _GRAPHS, _RUNS  # noqa: F401

__all__ = ["GATv2Conv", "GATConv", "Layer", "build", "models", "planetoid"]


def models() -> list:
    """The programs compiled into the extension, as ``(name, file)`` pairs."""
    return list(_ext.models())


# ---------------------------------------------------------------------------------------------
# Checks of what a caller passes, before any work: one message naming the argument.


def _check_tensor(name: str, t, dtype=None, dim=None) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"gatgrad: `{name}` must be a torch.Tensor, not {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(
            f"gatgrad: `{name}` is on {t.device}; gatgrad runs on the CPU only for now: "
            f"pass `{name}.cpu()`"
        )
    if t.layout != torch.strided:
        raise ValueError(f"gatgrad: `{name}` must be a dense (strided) tensor, not {t.layout}")
    if dtype is not None and t.dtype not in dtype:
        names = " or ".join(str(d).replace("torch.", "") for d in dtype)
        raise ValueError(f"gatgrad: `{name}` has dtype {str(t.dtype).replace('torch.', '')}; "
                         f"expected {names}")
    if dim is not None and t.dim() != dim:
        raise ValueError(
            f"gatgrad: `{name}` has shape {list(t.shape)}; expected a {dim}-dimensional tensor"
        )


_FLOATS = (torch.float32, torch.float64)


def _check_edge_index(edge_index) -> None:
    if not isinstance(edge_index, Tensor):
        raise NotImplementedError(
            f"gatgrad: `edge_index` must be a [2, E] torch.Tensor; {type(edge_index).__name__} "
            "(e.g. a SparseTensor) is not supported yet"
        )
    _check_tensor("edge_index", edge_index, (torch.int64,), 2)
    if edge_index.shape[0] != 2:
        raise ValueError(
            f"gatgrad: `edge_index` has shape {list(edge_index.shape)}; expected [2, E] "
            "(row 0 sources, row 1 targets)"
        )


# ---------------------------------------------------------------------------------------------
# Parameters under dotted PyG names, initialised as PyG does.


class _Linear(torch.nn.Module):
    """The parameters of PyG's ``Linear`` (``weight`` ``[out, in]``, optional ``bias``), with its
    initialisation: Glorot for the weight, and for the bias PyG's default
    (``uniform(±1/sqrt(in))``). gatgrad computes the product; this module only holds them."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _glorot(self.weight)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels)
            self.bias.data.uniform_(-bound, bound)

    def __repr__(self) -> str:
        return f"Linear({self.in_channels}, {self.out_channels}, bias={self.bias is not None})"


def _glorot(t: Tensor) -> None:
    stdv = math.sqrt(6.0 / (t.size(-2) + t.size(-1)))
    t.data.uniform_(-stdv, stdv)


def _get(module: torch.nn.Module, dotted: str) -> Tensor:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _config(info: dict, consts: dict, dims: dict) -> dict:
    """The static description of a call that the operators receive as a string (constant under
    ``torch.compile``): names, constants, sizes and the shapes of the results."""
    shapes = info["shapes"]
    node_inputs = [k for k, (_, d) in enumerate(info["inputs"]) if d == "node"]
    return {
        "inputs": [n for n, _ in info["inputs"]],
        "params": [n for n, _ in info["params"]],
        "dropout": list(info["dropout"]),
        "consts": {k: float(v) for k, v in consts.items()},
        "dims": {k: int(v) for k, v in dims.items()},
        "node_input": node_inputs[0] if node_inputs else 0,
        "out_width": shapes["out"][1],
        "alpha_width": shapes["alpha"][1] if "alpha" in shapes else None,
        "self_loops": bool(info["self_loops"]),
    }


class _Attention(torch.nn.Module):
    """What every gatgrad module shares: the compiled-in program it runs and the call of the
    operators."""

    model: str
    _config_text: str
    _cfg: dict

    def _set_program(self, model: str, consts: dict, dims: dict) -> dict:
        ext, name = _backend(model)
        info = ext.info(name, dims)
        if "shapes" not in info:
            raise TypeError(
                f"gatgrad: the sizes {sorted(dims)} do not fix every shape of `{model}` "
                f"(its dimensions: {', '.join(info['dims'])})"
            )
        self.model = model
        self._cfg = _config(info, consts, dims)
        self._config_text = json.dumps(self._cfg, sort_keys=True)
        return info

    def _call(self, inputs: list, edge_index: Tensor, dropout: float, heads: int, attention):
        """PyG's result of ``forward``: ``out``, or when ``attention`` (its
        ``return_attention_weights``) is set ``(out, (alpha_edge_index, alpha))``."""
        attention = bool(attention)
        cfg = self._cfg
        x = inputs[cfg["node_input"]]
        params = [_get(self, n) for n in cfg["params"]]
        for n, p in zip(cfg["params"], params):
            if p.dtype != x.dtype:
                raise ValueError(
                    f"gatgrad: parameter `{n}` has dtype {p.dtype} but the input {x.dtype}; "
                    f"convert the module with `.to({x.dtype})`"
                )
            if p.device.type != "cpu":
                raise ValueError(
                    f"gatgrad: parameter `{n}` is on {p.device}; gatgrad runs on the CPU only "
                    "for now: keep the module on the CPU"
                )
        masks = []
        if self.training and dropout > 0.0 and cfg["dropout"]:
            if cfg["self_loops"]:
                edges = torch.ops.gatgrad.loop_edge_index(edge_index, x.shape[0]).shape[1]
            else:
                edges = edge_index.shape[1]
            # The mask torch's dropout draws on PyG's [E, H] attention, from torch's generator.
            masks = [F.dropout(x.new_ones((edges, heads)), p=dropout, training=True)]
        keep = torch.is_grad_enabled() and any(t.requires_grad for t in inputs + params)
        out, alpha, alpha_ei = torch.ops.gatgrad.layer(
            self.model, self._config_text, inputs, edge_index, params, masks, keep, attention
        )
        if not attention:
            return out
        if masks:
            # PyG reports the attention after dropout.
            alpha = alpha * masks[0]
        if keep:
            alpha = torch.ops.gatgrad.attention_guard(alpha, x)
        return out, (alpha_ei, alpha)


def _check_x(x, in_channels: int) -> None:
    if isinstance(x, (tuple, list)):
        raise NotImplementedError(
            "gatgrad: bipartite inputs `x = (x_src, x_dst)` are not supported yet; pass one "
            "[N, F] tensor"
        )
    _check_tensor("x", x, _FLOATS, 2)
    if x.shape[1] != in_channels:
        raise ValueError(
            f"gatgrad: `x` has shape {list(x.shape)}; expected [N, {in_channels}] "
            f"(in_channels={in_channels})"
        )


def _edge_inputs(edge_dim, x: Tensor, edge_index: Tensor, edge_attr) -> list:
    """The edge features a layer with ``edge_dim`` reads (``[E, edge_dim]``, checked), or none."""
    if edge_dim is None:
        if edge_attr is not None:
            raise ValueError(
                "gatgrad: `edge_attr` given to a layer without edge_dim; construct it with "
                "edge_dim=D to use edge features"
            )
        return []
    if edge_attr is None:
        raise ValueError(
            f"gatgrad: the layer has edge_dim={edge_dim}, so forward needs "
            "`edge_attr` [E, edge_dim]"
        )
    _check_tensor("edge_attr", edge_attr, _FLOATS)
    if edge_attr.dim() == 1:
        edge_attr = edge_attr.view(-1, 1)
    if list(edge_attr.shape) != [edge_index.shape[1], edge_dim]:
        raise ValueError(
            f"gatgrad: `edge_attr` has shape {list(edge_attr.shape)}; expected "
            f"[{edge_index.shape[1]}, {edge_dim}] ([E, edge_dim])"
        )
    if edge_attr.dtype != x.dtype:
        raise ValueError(f"gatgrad: `edge_attr` has dtype {edge_attr.dtype} but `x` {x.dtype}")
    return [edge_attr]


def _unsupported(layer: str, options: dict) -> None:
    if options:
        desc = ", ".join(f"{k}={v!r}" for k, v in options.items())
        raise NotImplementedError(
            f"gatgrad.torch.{layer}: {desc} is not supported yet "
            f"(compiled-in configurations: {', '.join(n for n, _ in _ext.models())})"
        )


def _check_arguments(layer: str, in_channels, fill_value, kwargs: dict) -> None:
    """The argument checks `GATv2Conv` and `GATConv` share: PyG forms gatgrad does not take yet
    raise `NotImplementedError` naming them."""
    if not isinstance(in_channels, int):
        raise NotImplementedError(
            f"gatgrad.torch.{layer}: in_channels as a pair (bipartite graphs) is not "
            "supported yet"
        )
    if in_channels <= 0:
        raise NotImplementedError(
            f"gatgrad.torch.{layer}: lazy in_channels=-1 is not supported yet"
        )
    if kwargs:
        _unsupported(layer, kwargs)
    if not isinstance(fill_value, str) or fill_value != "mean":
        _unsupported(layer, {"fill_value": fill_value})


class GATv2Conv(_Attention):
    """PyG's ``GATv2Conv`` (Brody et al. 2022), with gatgrad's generated forward and backward.

    Same constructor, ``state_dict`` keys and shapes, initialisation and ``forward`` as
    ``torch_geometric.nn.GATv2Conv``. Supported: any combination of ``concat``,
    ``add_self_loops``, ``edge_dim``, ``bias``, ``share_weights`` and ``residual``, with any
    ``heads``, ``negative_slope`` and ``dropout``. The layer's ``.gat`` program is generated from
    its options (PyG's definitions as data, ``gatgrad/_programs.py``): the defaults and each
    single option are compiled into the extension; any other combination is built on first use
    (as ``Layer`` builds a file; see :func:`build` to build several in one go). Bipartite
    ``in_channels``, lazy ``-1``, ``fill_value`` other than ``"mean"`` and other PyG keyword
    arguments raise ``NotImplementedError`` naming them.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        add_self_loops: bool = True,
        edge_dim: Optional[int] = None,
        fill_value="mean",
        bias: bool = True,
        share_weights: bool = False,
        residual: bool = False,
        **kwargs,
    ):
        super().__init__()
        _check_arguments("GATv2Conv", in_channels, fill_value, kwargs)
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.add_self_loops, self.edge_dim, self.fill_value = add_self_loops, edge_dim, fill_value
        self.residual, self.share_weights = residual, share_weights
        key = _programs.changed(
            "GATv2Conv",
            dict(concat=concat, add_self_loops=add_self_loops, edge_dim=edge_dim, bias=bias,
                 share_weights=share_weights, residual=residual),
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"gatgrad.torch.GATv2Conv: dropout={dropout} is not in [0, 1)")
        hc = heads * out_channels
        # Created and initialised in PyG's order, so one seed gives PyG's initial values.
        self.lin_l = _Linear(in_channels, hc, bias)
        self.lin_r = self.lin_l if share_weights else _Linear(in_channels, hc, bias)
        self.att = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.lin_edge = _Linear(edge_dim, hc, False) if edge_dim is not None else None
        total = out_channels * (heads if concat else 1)
        if residual:
            self.res = _Linear(in_channels, total, False)
        else:
            self.register_parameter("res", None)
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(total))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        dims = {"F": in_channels, "H": heads, "C": out_channels}
        if edge_dim is not None:
            dims["D"] = edge_dim
        self._set_program(_programs.model_for("GATv2Conv", key), {"slope": negative_slope}, dims)

    def reset_parameters(self) -> None:
        """PyG's initialisation, in PyG's order."""
        self.lin_l.reset_parameters()
        self.lin_r.reset_parameters()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        if self.res is not None:
            self.res.reset_parameters()
        _glorot(self.att)
        if self.bias is not None:
            self.bias.data.zero_()

    def forward(self, x, edge_index, edge_attr=None, return_attention_weights=None):
        """PyG's ``GATv2Conv.forward``: ``out``, or with ``return_attention_weights`` set
        ``(out, (edge_index, alpha))`` (the edge index with the self loops the layer added)."""
        _check_x(x, self.in_channels)
        _check_edge_index(edge_index)
        inputs = [x] + _edge_inputs(self.edge_dim, x, edge_index, edge_attr)
        return self._call(inputs, edge_index, self.dropout, self.heads, return_attention_weights)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"heads={self.heads})"
        )


class GATConv(_Attention):
    """PyG's ``GATConv`` (Veličković et al. 2018), with gatgrad's generated forward and
    backward: PyG's constructor, ``state_dict``, initialisation and ``forward``. Supported: any
    combination of ``concat``, ``add_self_loops``, ``edge_dim``, ``bias`` and ``residual``, with
    any ``heads``, ``negative_slope`` and ``dropout``: the program is generated from the options
    as for :class:`GATv2Conv`; the defaults, ``concat=False`` and ``add_self_loops=False`` are
    compiled in, every other configuration is built on first use. Other PyG forms raise
    ``NotImplementedError`` naming them."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        add_self_loops: bool = True,
        edge_dim: Optional[int] = None,
        fill_value="mean",
        bias: bool = True,
        residual: bool = False,
        **kwargs,
    ):
        super().__init__()
        _check_arguments("GATConv", in_channels, fill_value, kwargs)
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.add_self_loops, self.edge_dim, self.fill_value = add_self_loops, edge_dim, fill_value
        self.residual = residual
        key = _programs.changed(
            "GATConv",
            dict(concat=concat, add_self_loops=add_self_loops, edge_dim=edge_dim, bias=bias,
                 residual=residual),
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"gatgrad.torch.GATConv: dropout={dropout} is not in [0, 1)")
        hc = heads * out_channels
        total = out_channels * (heads if concat else 1)
        # Created and initialised in PyG's order, so one seed gives PyG's initial values.
        self.lin = _Linear(in_channels, hc, False)
        self.lin_src = self.lin_dst = None
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        if edge_dim is not None:
            self.lin_edge = _Linear(edge_dim, hc, False)
            self.att_edge = torch.nn.Parameter(torch.empty(1, heads, out_channels))
        else:
            self.lin_edge = None
            self.register_parameter("att_edge", None)
        if residual:
            self.res = _Linear(in_channels, total, False)
        else:
            self.register_parameter("res", None)
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(total))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        dims = {"F": in_channels, "H": heads, "C": out_channels}
        if edge_dim is not None:
            dims["D"] = edge_dim
        self._set_program(_programs.model_for("GATConv", key), {"slope": negative_slope}, dims)

    def reset_parameters(self) -> None:
        """PyG's initialisation, in PyG's order."""
        self.lin.reset_parameters()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        if self.res is not None:
            self.res.reset_parameters()
        _glorot(self.att_src)
        _glorot(self.att_dst)
        if self.att_edge is not None:
            _glorot(self.att_edge)
        if self.bias is not None:
            self.bias.data.zero_()

    def forward(self, x, edge_index, edge_attr=None, size=None, return_attention_weights=None):
        """PyG's ``GATConv.forward``: ``out``, or ``(out, (edge_index, alpha))``."""
        if size is not None:
            _unsupported("GATConv.forward", {"size": size})
        _check_x(x, self.in_channels)
        _check_edge_index(edge_index)
        inputs = [x] + _edge_inputs(self.edge_dim, x, edge_index, edge_attr)
        return self._call(inputs, edge_index, self.dropout, self.heads, return_attention_weights)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"heads={self.heads})"
        )


class Layer(_Attention):
    """Any layer ``.gat`` file as a module.

    ``Layer("examples/variants/gatv2_residual_split.gat", F=64, H=4, C=16, slope=0.1)``: the
    keyword arguments are the file's dimension sizes and constants. Parameters are registered
    under the file's external names (``lin_l.weight``), so a PyG layer's ``state_dict`` loads as
    is, and initialised as PyG initialises them: Glorot for weights, zeros for biases.
    ``forward(x, edge_index, **inputs)`` takes the file's other inputs by their external names
    (``edge_attr=...``) and returns ``out``, or ``(out, (edge_index, alpha))`` with
    ``return_attention_weights=True``.

    A file whose program is not compiled into the extension is compiled on first use: its
    generated code is built with cargo into an extension module of its own, cached in
    ``GATGRAD_CACHE_DIR`` (default ``~/.cache/gatgrad``) under a key of its program (comments and
    spacing do not matter), and imported; the first use prints one line when the build starts
    and one when it is done, later uses (in any process) load it at once. Without ``cargo`` on
    ``PATH`` this raises ``RuntimeError`` saying what to install.
    """

    def __init__(self, path, **sizes_and_constants):
        super().__init__()
        path = Path(path)
        model = _model_of_file(path)
        ext, name = _backend(model)
        info = ext.info(name)
        if info["loss"]:
            raise NotImplementedError(
                f"gatgrad.torch.Layer: {path} is a model with a loss; Layer runs single layers"
            )
        dims, consts = {}, {}
        for k, v in sizes_and_constants.items():
            if k in info["dims"]:
                dims[k] = v
            elif k in info["consts"]:
                consts[k] = v
            else:
                raise TypeError(
                    f"gatgrad.torch.Layer: {path} has no dimension or constant `{k}` "
                    f"(dimensions: {', '.join(info['dims'])}; constants: "
                    f"{', '.join(info['consts'])})"
                )
        self.path, self.sizes, self.consts = str(path), dims, consts
        info = self._set_program(model, consts, dims)
        self._dropout = float(consts.get("dropout", info["consts"].get("dropout", 0.0)))
        self._heads = info["shapes"]["alpha"][1] if "alpha" in info["shapes"] else 1
        for name, _ in info["params"]:
            self._register(name, info["shapes"][name])
        self.reset_parameters()

    def _register(self, dotted: str, shape) -> None:
        *path, leaf = dotted.split(".")
        module: torch.nn.Module = self
        for part in path:
            if not hasattr(module, part):
                module.add_module(part, torch.nn.Module())
            module = getattr(module, part)
        module.register_parameter(leaf, torch.nn.Parameter(torch.empty(*shape)))

    def reset_parameters(self) -> None:
        """Glorot for weights, zeros for biases (parameters whose name ends in ``bias``)."""
        for name in self._cfg["params"]:
            p = _get(self, name)
            if name.split(".")[-1].startswith("bias"):
                p.data.zero_()
            elif p.dim() >= 2:
                _glorot(p)
            else:
                _glorot(p.view(1, -1))

    def forward(self, x, edge_index, return_attention_weights=None, **inputs):
        cfg = self._cfg
        _check_edge_index(edge_index)
        given = dict(inputs)
        ordered = []
        for k, name in enumerate(cfg["inputs"]):
            t = x if k == cfg["node_input"] else given.pop(name, None)
            if t is None:
                raise ValueError(f"gatgrad: {self.path} reads the input `{name}`; pass {name}=...")
            _check_tensor(name, t, _FLOATS)
            ordered.append(t)
        if given:
            raise TypeError(
                f"gatgrad: {self.path} has no input {', '.join(map(repr, given))} "
                f"(inputs: {', '.join(cfg['inputs'])})"
            )
        _check_tensor("x", x, _FLOATS, 2)
        return self._call(ordered, edge_index, self._dropout, self._heads, return_attention_weights)

    def extra_repr(self) -> str:
        return f"{self.path!r}, " + ", ".join(f"{k}={v}" for k, v in {**self.sizes, **self.consts}.items())


def build(*configurations) -> list:
    """Builds ahead of use, in ONE extension module (one cargo build instead of one per
    configuration), the programs of PyG configurations that are not compiled in; layers of these
    configurations constructed later in this process start at once. Each configuration is a
    layer class (or its name) and its keyword arguments::

        gatgrad.torch.build(
            (GATv2Conv, dict(concat=False, bias=False)),
            (GATConv, dict(edge_dim=3, residual=True)),
        )

    Only the options that shape the program count (sizes, ``negative_slope`` and ``dropout`` are
    given when a layer is constructed). The module is cached like any program built on first use:
    the same call in a later process finds it. Returns the operators' program names."""
    configs = []
    for configuration in configurations:
        try:
            layer, options = configuration
        except (TypeError, ValueError):
            raise TypeError(
                "gatgrad.torch.build: each configuration is a (layer class, options dict) pair, "
                f"not {configuration!r}"
            ) from None
        kind = layer if isinstance(layer, str) else getattr(layer, "__name__", None)
        if kind not in _programs.OPTIONS:
            raise TypeError(f"gatgrad.torch.build: {layer!r} is not GATv2Conv or GATConv")
        known = set(inspect.signature(globals()[kind]).parameters) - {"kwargs"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"gatgrad.torch.build: {kind} has no argument {', '.join(unknown)}")
        configs.append((kind, _programs.changed(kind, options)))
    return _programs.models_for(configs)


def planetoid(name: str = "cora"):
    """An embedded Planetoid dataset (``"cora"`` or ``"citeseer"``, public split, raw
    bag-of-words features) as a ``torch_geometric.data.Data`` with ``x``, ``edge_index``, ``y``
    and the three masks, from the copy inside gatgrad: no download."""
    from torch_geometric.data import Data

    d = _ext.dataset(name)
    t = {k: torch.from_numpy(v) for k, v in d.items() if k not in ("num_classes", "name")}
    data = Data(**t)
    data.num_classes = d["num_classes"]
    return data
