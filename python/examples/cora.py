"""The GAT paper's setup on Cora (Veličković et al. 2018, as PyG's examples/gat.py writes it),
with gatgrad's GATConv in place of PyG's: 8 heads of 8 channels, ELU, one averaged output head,
dropout 0.6 on inputs and attention, Adam (lr 0.005, weight decay 5e-4), 200 epochs, the
test accuracy at the best validation accuracy. The dataset is gatgrad's embedded copy, turned
into a torch_geometric.data.Data (no download).

    python python/examples/cora.py [--layers gatgrad|pyg] [--epochs 200] [--seed 0]
"""

import argparse
import time

import torch
import torch.nn.functional as F
import torch_geometric.transforms as T

import gatgrad.torch as gt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", choices=["gatgrad", "pyg"], default="gatgrad")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.layers == "gatgrad":
        GATConv = gt.GATConv
    else:
        from torch_geometric.nn import GATConv

    data = T.NormalizeFeatures()(gt.planetoid("cora"))
    torch.manual_seed(args.seed)

    class GAT(torch.nn.Module):
        def __init__(self, in_channels, hidden, out_channels, heads):
            super().__init__()
            self.conv1 = GATConv(in_channels, hidden, heads, dropout=0.6)
            self.conv2 = GATConv(hidden * heads, out_channels, heads=1, concat=False, dropout=0.6)

        def forward(self, x, edge_index):
            x = F.dropout(x, p=0.6, training=self.training)
            x = F.elu(self.conv1(x, edge_index))
            x = F.dropout(x, p=0.6, training=self.training)
            return self.conv2(x, edge_index)

    model = GAT(data.num_features, 8, data.num_classes, 8)
    opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)

    def accuracies():
        model.eval()
        with torch.no_grad():
            pred = model(data.x, data.edge_index).argmax(dim=-1)
        return [float((pred[m] == data.y[m]).float().mean()) for m in
                (data.train_mask, data.val_mask, data.test_mask)]

    best_val = test_at_best = 0.0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        opt.zero_grad()
        out = model(data.x, data.edge_index)
        loss = F.cross_entropy(out[data.train_mask], data.y[data.train_mask])
        loss.backward()
        opt.step()
        train, val, test = accuracies()
        if val > best_val:
            best_val, test_at_best = val, test
        if epoch % 50 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}  train {train:.3f}  val {val:.3f}  "
                  f"test {test:.3f}")
    secs = time.perf_counter() - start
    print(f"{args.layers}: test accuracy at best validation {test_at_best:.3f} "
          f"(val {best_val:.3f}), {secs / args.epochs * 1e3:.1f} ms per epoch")
    return test_at_best


if __name__ == "__main__":
    main()
