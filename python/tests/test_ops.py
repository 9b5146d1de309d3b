"""The operators under torch's own checks (opcheck, gradcheck, torch.compile), determinism, the
graph cache, and bad input from Python: the matching exception with one clear message."""

import pytest
import torch

import gatgrad.torch as gt
from conftest import graph


def layer_and_data(dtype=torch.float64, **options):
    torch.manual_seed(0)
    layer = gt.GATv2Conv(6, 4, heads=2, **options).to(dtype)
    x = torch.randn(30, 6, dtype=dtype)
    return layer, x, graph(30, 100)


def op_args(layer, x, ei):
    params = [p for p in (gt._get(layer, n) for n in layer._cfg["params"])]
    return (layer.model, layer._config_text, [x], ei, params, [], True, True)


def test_opcheck():
    layer, x, ei = layer_and_data()
    x.requires_grad_(True)
    args = op_args(layer, x, ei)
    torch.library.opcheck(torch.ops.gatgrad.layer.default, args)


def test_gradcheck_inputs_and_parameters():
    layer, x, ei = layer_and_data()
    params = [p.detach().clone().requires_grad_(True) for p in op_args(layer, x, ei)[4]]
    x = x.clone().requires_grad_(True)

    def f(x, *params):
        return torch.ops.gatgrad.layer(layer.model, layer._config_text, [x], ei, list(params), [], True, True)[0]

    assert torch.autograd.gradcheck(f, (x, *params))


def test_torch_compile_fullgraph_no_graph_break():
    layer, x, ei = layer_and_data()
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True)
    out = compiled(x, ei)
    assert torch.equal(out, layer(x, ei))
    explanation = torch._dynamo.explain(layer)(x, ei)
    assert explanation.graph_break_count == 0
    xr = x.clone().requires_grad_(True)
    compiled(xr, ei).sum().backward()
    xe = x.clone().requires_grad_(True)
    layer(xe, ei).sum().backward()
    assert torch.equal(xr.grad, xe.grad)


def test_two_identical_calls_give_identical_bits():
    layer, x, ei = layer_and_data(torch.float32)
    outs, grads = [], []
    for _ in range(2):
        xr = x.clone().requires_grad_(True)
        layer.zero_grad()
        out = layer(xr, ei)
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append([xr.grad] + [p.grad.clone() for p in layer.parameters()])
    assert torch.equal(outs[0], outs[1])
    for a, b in zip(*grads):
        assert torch.equal(a, b)


def test_thread_count_does_not_change_bits():
    layer, x, ei = layer_and_data(torch.float32)
    torch.set_num_threads(1)
    one = layer(x, ei)
    torch.set_num_threads(2)
    assert torch.equal(one, layer(x, ei))


def test_graph_cache_is_rebuilt_when_edge_index_changes():
    layer, x, ei = layer_and_data()
    first = layer(x, ei)
    assert torch.equal(layer(x, ei), first)
    ei[0, :10] = (ei[0, :10] + 1) % 30  # in place: the version counter moves
    changed = layer(x, ei)
    fresh = layer(x, ei.clone())
    assert not torch.equal(changed, first)
    assert torch.equal(changed, fresh)


def test_backward_without_kept_run_recomputes_the_same():
    """The backward operator called with no kept run (as after an eviction) runs the forward
    again and gives the same bits as the kept run's backward."""
    layer, x, ei = layer_and_data()
    xr = x.clone().requires_grad_(True)
    out = layer(xr, ei)
    g = torch.randn_like(out)
    out.backward(g)
    model, config, inputs, _, params, masks, _, _ = op_args(layer, x, ei)
    grads = torch.ops.gatgrad.layer_backward(model, config, inputs, ei, params, masks, g)
    assert torch.equal(grads[0], xr.grad)
    for got, p in zip(grads[1:], params):
        assert torch.equal(got, p.grad)


def test_loss_through_attention_weights_is_refused():
    layer, x, ei = layer_and_data()
    x.requires_grad_(True)
    out, (_, alpha) = layer(x, ei, return_attention_weights=True)
    with pytest.raises(NotImplementedError, match="attention weights"):
        (out.sum() + alpha.sum()).backward()


# Bad input: the exception a Python user expects, naming the argument.


def test_device_other_than_cpu_is_refused():
    layer, x, ei = layer_and_data()
    with pytest.raises(ValueError, match="`x` is on meta; gatgrad runs on the CPU only for now"):
        layer(x.to("meta"), ei)
    with pytest.raises(ValueError, match="`edge_index` is on meta"):
        layer(x, ei.to("meta"))


def test_wrong_dtypes_are_value_errors_naming_the_argument():
    layer, x, ei = layer_and_data()
    with pytest.raises(ValueError, match="`x` has dtype int64; expected float32 or float64"):
        layer(x.long(), ei)
    with pytest.raises(ValueError, match="`edge_index` has dtype int32; expected int64"):
        layer(x, ei.int())
    with pytest.raises(ValueError, match="parameter `lin_l.weight` has dtype torch.float64"):
        layer(x.float(), ei)


def test_wrong_shapes_are_value_errors_naming_the_argument():
    layer, x, ei = layer_and_data()
    with pytest.raises(ValueError, match=r"`x` has shape \[30, 5\]; expected \[N, 6\]"):
        layer(x[:, :5], ei)
    with pytest.raises(ValueError, match=r"`x` has shape \[30\]; expected a 2-dimensional"):
        layer(x[:, 0], ei)
    with pytest.raises(ValueError, match=r"`edge_index` has shape \[3, 100\]; expected \[2, E\]"):
        layer(x, torch.cat([ei, ei[:1]]))
    e = gt.GATv2Conv(6, 4, edge_dim=2).double()
    with pytest.raises(ValueError, match=r"`edge_attr` has shape \[99, 2\]; expected \[100, 2\]"):
        e(x, ei, edge_attr=torch.zeros(99, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="needs `edge_attr`"):
        e(x, ei)


def test_node_id_out_of_range_is_an_index_error():
    layer, x, ei = layer_and_data()
    bad = ei.clone()
    bad[1, 7] = 30
    with pytest.raises(IndexError, match=r"edge_index\[1, 7\] = 30 is not a node id: x has 30 nodes"):
        layer(x, bad)
    bad[1, 7] = -1
    with pytest.raises(IndexError, match=r"edge_index\[1, 7\] = -1"):
        layer(x, bad)


def test_empty_graph_and_isolated_nodes():
    layer, x, _ = layer_and_data(add_self_loops=False)
    out = layer(x, torch.zeros((2, 0), dtype=torch.long))
    assert torch.equal(out, layer.bias.expand(30, -1).detach())


def test_kept_runs_live_with_their_graph():
    """A forward with gradients on keeps its run on its autograd node, not in a global cache,
    so dropping the output frees it; the cache only passes a run on to the backward."""
    layer, x, ei = layer_and_data()
    xr = x.clone().requires_grad_(True)
    outs = [layer(xr, ei) for _ in range(6)]
    assert len(gt._RUNS.entries) == 0
    for out in outs:
        out.sum().backward(retain_graph=False)
    assert len(gt._RUNS.entries) == 0
