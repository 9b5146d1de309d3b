"""The custom operators every gatgrad module calls: ``gatgrad::layer`` (the generated forward),
``gatgrad::layer_backward`` (the generated backward), the attention guard and
``gatgrad::loop_edge_index``, with their fake (shape) implementations and autograd; and the
caches of prepared graphs and of forward runs kept for their backward."""

from __future__ import annotations

import json

import torch
from torch import Tensor

from . import _gatgrad as _ext
from ._backends import _backend
from ._cache import _Cache

# ---------------------------------------------------------------------------------------------
# Graphs prepared once per edge_index.


# Prepared graphs (CSR by target and by source, PyG's self loops) by edge_index: a training loop
# that passes the same edge_index every step builds them once.
_GRAPHS = _Cache(8)
# Forward runs kept for their backward (the generated backward reads what the forward stored).
# In eager mode a run moves from here to its autograd node right after the forward
# (`_setup_context`), so it lives exactly as long as the graph that may need it; what stays here
# (runs under torch.compile, whose autograd nodes are compiled) is bounded by the cache size. A
# backward whose run is not found (evicted, or after a compiler copied the inputs) runs the
# forward again first, which gives the same bits.
_RUNS = _Cache(4)


def _prepared(edge_index: Tensor, num_nodes: int, ext=_ext):
    """The graph of ``edge_index`` prepared by extension module ``ext`` (each module has its own
    class of prepared graphs: no Rust type crosses between two modules)."""
    tag = (ext.__name__, num_nodes)
    g = _GRAPHS.get(tag, [edge_index])
    if g is None:
        g = ext.PreparedGraph(edge_index.detach().numpy(), num_nodes)
        _GRAPHS.put(tag, [edge_index], g)
    return g


def _numpy(t: Tensor):
    return t.detach().numpy()


def _run(model, config, inputs, edge_index, params, masks):
    cfg = json.loads(config)
    ext, name = _backend(model)
    num_nodes = inputs[cfg["node_input"]].shape[0]
    graph = _prepared(edge_index, num_nodes, ext)
    tensors = {name: _numpy(t) for name, t in zip(cfg["inputs"], inputs)}
    tensors.update({"param." + name: _numpy(t) for name, t in zip(cfg["params"], params)})
    dropout = {name: _numpy(m) for name, m in zip(cfg["dropout"], masks)}
    f32 = inputs[cfg["node_input"]].dtype == torch.float32
    return ext.forward(
        name, graph, tensors, dropout, cfg["consts"], cfg["dims"], f32, torch.get_num_threads()
    )


def _all(inputs, edge_index, params, masks) -> list:
    return list(inputs) + [edge_index] + list(params) + list(masks)


# ---------------------------------------------------------------------------------------------
# The custom operators.


@torch.library.custom_op("gatgrad::layer", mutates_args=())
def _layer(
    model: str,
    config: str,
    inputs: list[Tensor],
    edge_index: Tensor,
    params: list[Tensor],
    masks: list[Tensor],
    keep: bool,
    attention: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """The generated forward of program ``model`` (compiled in, or ``built:<module>``, built on
    first use): ``(out, alpha, alpha_edge_index)``
    (``alpha`` before dropout, in PyG's edge order; empty when the program has no attention or
    ``attention`` is false: PyG's order costs a pass over the edges only a caller that asked for
    the weights needs). ``keep`` keeps the run for its backward."""
    run = _run(model, config, inputs, edge_index, params, masks)
    res = run.outputs(attention)
    if keep:
        _RUNS.put((model, config), _all(inputs, edge_index, params, masks), run)
    out = torch.from_numpy(res["out"])
    if "alpha" in res:
        alpha = torch.from_numpy(res["alpha"])
        alpha_ei = torch.from_numpy(res["alpha_edge_index"])
    else:
        alpha = out.new_empty((0,))
        alpha_ei = torch.empty((2, 0), dtype=torch.long)
    return out, alpha, alpha_ei


@_layer.register_fake
def _layer_fake(model, config, inputs, edge_index, params, masks, keep, attention):
    cfg = json.loads(config)
    x = inputs[cfg["node_input"]]
    out = x.new_empty((x.shape[0], cfg["out_width"]))
    if cfg["alpha_width"] is None or not attention:
        return out, x.new_empty((0,)), edge_index.new_empty((2, 0))
    if cfg["self_loops"]:
        e = torch.library.get_ctx().new_dynamic_size()
    else:
        e = edge_index.shape[1]
    return out, x.new_empty((e, cfg["alpha_width"])), edge_index.new_empty((2, e))


@torch.library.custom_op("gatgrad::layer_backward", mutates_args=())
def _layer_backward(
    model: str,
    config: str,
    inputs: list[Tensor],
    edge_index: Tensor,
    params: list[Tensor],
    masks: list[Tensor],
    grad_out: Tensor,
) -> list[Tensor]:
    """The generated backward of ``gatgrad::layer``: the gradients of ``inputs`` then ``params``
    from the gradient of ``out``."""
    run = _RUNS.get((model, config), _all(inputs, edge_index, params, masks), pop=True)
    if run is None:
        run = _run(model, config, inputs, edge_index, params, masks)
    grads = run.backward(_numpy(grad_out.contiguous()))
    cfg = json.loads(config)
    names = cfg["inputs"] + cfg["params"]
    return [torch.from_numpy(grads[n]).view(t.shape) for n, t in zip(names, inputs + params)]


@_layer_backward.register_fake
def _layer_backward_fake(model, config, inputs, edge_index, params, masks, grad_out):
    return [torch.empty_like(t) for t in list(inputs) + list(params)]


def _setup_context(ctx, inputs, output):
    model, config, ins, edge_index, params, masks, keep, attention = inputs
    ctx.model, ctx.config = model, config
    ctx.run = None
    if keep:
        ctx.run = _RUNS.get((model, config), _all(ins, edge_index, params, masks), pop=True)
    ctx.counts = (len(ins), len(params), len(masks))
    ctx.save_for_backward(*ins, edge_index, *params, *masks)
    # The attention weights carry no gradient from here; `_attention_guard` refuses a loss
    # through them.
    ctx.mark_non_differentiable(output[1], output[2])


def _backward(ctx, grad_out, grad_alpha, grad_alpha_ei):
    ni, np_, nm = ctx.counts
    saved = ctx.saved_tensors
    ins, edge_index = list(saved[:ni]), saved[ni]
    params, masks = list(saved[ni + 1 : ni + 1 + np_]), list(saved[ni + 1 + np_ :])
    if ctx.run is not None:
        # Handed to the backward operator through the cache (operators take tensors only).
        _RUNS.put((ctx.model, ctx.config), _all(ins, edge_index, params, masks), ctx.run)
        ctx.run = None
    grads = _layer_backward(ctx.model, ctx.config, ins, edge_index, params, masks, grad_out)
    return None, None, grads[:ni], None, grads[ni:], [None] * nm, None, None


_layer.register_autograd(_backward, setup_context=_setup_context)


@torch.library.custom_op("gatgrad::attention_guard", mutates_args=())
def _attention_guard(alpha: Tensor, x: Tensor) -> Tensor:
    """The attention weights, as returned to a caller whose inputs require gradients: the same
    values, with a backward that refuses a loss depending on them (gatgrad's generated backward
    starts from the gradient of the output only), instead of silently dropping that gradient."""
    return alpha.clone()


@_attention_guard.register_fake
def _attention_guard_fake(alpha, x):
    return torch.empty_like(alpha)


@torch.library.custom_op("gatgrad::attention_refuse", mutates_args=())
def _attention_refuse(grad_alpha: Tensor, x: Tensor) -> Tensor:
    """Raises if a nonzero gradient reaches the attention weights; else the (zero) gradient of
    ``x`` through them."""
    if grad_alpha.numel() and bool((grad_alpha != 0).any()):
        raise NotImplementedError(
            "gatgrad: a loss that depends on the returned attention weights is not supported yet "
            "(gradients flow through the layer's output only); use PyG's layer for that loss"
        )
    return torch.zeros_like(x)


@_attention_refuse.register_fake
def _attention_refuse_fake(grad_alpha, x):
    return torch.empty_like(x)


def _guard_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[1])


def _guard_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    return None, _attention_refuse(grad, x)


_attention_guard.register_autograd(_guard_backward, setup_context=_guard_setup)


@torch.library.custom_op("gatgrad::loop_edge_index", mutates_args=())
def _loop_edge_index(edge_index: Tensor, num_nodes: int) -> Tensor:
    """PyG's ``add_self_loops(remove_self_loops(edge_index))`` on ``num_nodes`` nodes, from the
    graph prepared for ``edge_index`` (cached)."""
    g = _prepared(edge_index, num_nodes)
    return torch.from_numpy(g.loop_edge_index()).view(2, -1)


@_loop_edge_index.register_fake
def _loop_edge_index_fake(edge_index, num_nodes):
    return edge_index.new_empty((2, torch.library.get_ctx().new_dynamic_size()))
