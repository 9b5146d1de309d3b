"""gatgrad layers inside DistributedDataParallel: two processes on this machine (gloo), each with
its own inputs; after backward both hold the average of the two gradients, as computed in one
process."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import gatgrad.torch as gt
from conftest import graph



class TwoLayers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = gt.GATv2Conv(6, 4, heads=2).double()
        self.conv2 = gt.GATConv(8, 3).double()

    def forward(self, x, ei):
        return self.conv2(torch.nn.functional.elu(self.conv1(x, ei)), ei)


def data(rank):
    g = torch.Generator().manual_seed(100 + rank)
    return torch.randn(25, 6, generator=g, dtype=torch.float64), graph(25, 90, seed=rank)


def loss(m, rank):
    x, ei = data(rank)
    return m(x, ei).square().mean()


def worker(rank, world, store, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(TwoLayers())
        loss(ddp, rank).backward()
        torch.save({n: p.grad for n, p in ddp.module.named_parameters()}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_gloo(tmp_path):
    out = str(tmp_path / "grads")
    mp.spawn(worker, args=(2, str(tmp_path / "store"), out), nprocs=2, join=True)
    ranks = [torch.load(f"{out}.{r}") for r in range(2)]
    single = TwoLayers()
    for r in range(2):
        loss(single, r).backward()
    for n, p in single.named_parameters():
        want = p.grad / 2
        for g in ranks:
            assert (g[n] - want).abs().max() <= 1e-12 * max(1.0, want.abs().max().item()), n
    assert any(g.abs().sum() > 0 for g in ranks[0].values())
