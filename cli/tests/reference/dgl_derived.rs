//! DGL cases the reference set does not hold, checked against DGL's own vectors: their expected
//! results follow from a case DGL computed by plain arithmetic written here (not from our output).
//!
//! DGL's residual layers: a residual only adds a term to the output, so
//!
//! - a Linear residual `res_fc(x) = W x + b` adds `W x + b` to `out`; its gradients are
//!   `Σ_n ∂out[n, o] x[n, f]` and `Σ_n ∂out[n, o]`, and it adds `∂out · W` to `grad.x`;
//! - the identity residual (input width H·C) adds `x` viewed as `[N, H, C]` to `out` and
//!   `grad_out` to `grad.x`. The DGL case has 5 inputs and H·C = 8, so the input is widened with
//!   3 extra columns read by zero weight columns: the attention part is DGL's computation
//!   exactly, while the residual reads all 8 columns.
//!
//! A node with no in-edges (DGL's `allow_zero_in_degree=True`): removing the in-edges of one
//! node changes no other target's softmax or aggregation, so its output row is zero and every
//! other row, and every remaining edge's attention, is DGL's.

use super::{check_file, check_file_forward, root};
use gatgrad::runtime::{write_tensors, TensorData, TensorFile};
use std::collections::BTreeMap;

/// A case as named tensors (f64 or i64) to change and write.
struct Case(BTreeMap<String, (Vec<usize>, TensorData)>);

impl Case {
    fn load(case: &str) -> Case {
        let path = root()
            .join("tests/reference/dgl")
            .join(format!("{case}.safetensors"));
        let file = TensorFile::load(path).unwrap();
        Case(
            file.names()
                .into_iter()
                .map(|n| {
                    let shape = file.shape(n).unwrap().to_vec();
                    (n.to_string(), (shape, file.data(n).unwrap()))
                })
                .collect(),
        )
    }

    fn f64(&self, name: &str) -> (Vec<usize>, Vec<f64>) {
        match &self.0[name] {
            (s, TensorData::F64(v)) => (s.clone(), v.clone()),
            _ => panic!("`{name}` is not f64"),
        }
    }

    fn set(&mut self, name: &str, shape: Vec<usize>, v: Vec<f64>) {
        self.0.insert(name.to_string(), (shape, TensorData::F64(v)));
    }

    fn write(&self, name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("gatgrad-dgl-res-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("case.safetensors");
        let tensors: Vec<_> = self
            .0
            .iter()
            .map(|(n, (s, d))| (n.clone(), s.clone(), d.clone()))
            .collect();
        write_tensors(&path, &tensors, None).unwrap();
        path
    }
}

/// Deterministic non-trivial values.
fn values(len: usize, seed: f64) -> Vec<f64> {
    (0..len)
        .map(|k| (seed + 1.7 * k as f64).sin() * 0.5)
        .collect()
}

/// Adds the Linear residual `W x + b` (`W` [O, F], `b` [O]) to a case: inputs and results.
fn add_linear_residual(c: &mut Case) {
    let (xs, x) = c.f64("x");
    let (gs, g) = c.f64("grad_out");
    let (n, f) = (xs[0], xs[1]);
    let o: usize = gs[1..].iter().product();
    let w = values(o * f, 0.3);
    let b = values(o, 1.1);
    let (os, mut out) = c.f64("out");
    let (_, mut gx) = c.f64("grad.x");
    let mut gw = vec![0.0; o * f];
    let mut gb = vec![0.0; o];
    for i in 0..n {
        for k in 0..o {
            let mut r = b[k];
            for q in 0..f {
                r += w[k * f + q] * x[i * f + q];
                gw[k * f + q] += g[i * o + k] * x[i * f + q];
                gx[i * f + q] += g[i * o + k] * w[k * f + q];
            }
            out[i * o + k] += r;
            gb[k] += g[i * o + k];
        }
    }
    c.set("out", os, out);
    c.set("grad.x", xs, gx);
    c.set("param.res_fc.weight", vec![o, f], w);
    c.set("param.res_fc.bias", vec![o], b);
    c.set("grad.res_fc.weight", vec![o, f], gw);
    c.set("grad.res_fc.bias", vec![o], gb);
}

#[test]
fn dgl_gatv2_residual() {
    let mut c = Case::load("dgl_gatv2_basic");
    add_linear_residual(&mut c);
    check_file(
        "dgl/gatv2_residual.gat",
        &c.write("gatv2"),
        "dgl_gatv2_residual",
    );
}

/// GATConv with a Linear residual has no `bias`: the residual's bias takes its place.
#[test]
fn dgl_gat_residual() {
    let mut c = Case::load("dgl_gat");
    let (_, bias) = c.f64("param.bias");
    let (_, grad_bias) = c.f64("grad.bias");
    // Take the output bias out of DGL's output; the residual adds its own.
    let (os, mut out) = c.f64("out");
    let o = bias.len();
    for (k, v) in out.iter_mut().enumerate() {
        *v -= bias[k % o];
    }
    c.set("out", os, out);
    c.0.remove("param.bias");
    c.0.remove("grad.bias");
    add_linear_residual(&mut c);
    // The residual's bias gradient is the output bias's, which DGL computed.
    let (_, gb) = c.f64("grad.res_fc.bias");
    let scale = grad_bias.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in gb.iter().zip(&grad_bias) {
        assert!((a - b).abs() <= 1e-12 * scale, "{a} vs DGL's {b}");
    }
    check_file("dgl/gat_residual.gat", &c.write("gat"), "dgl_gat_residual");
}

#[test]
fn dgl_gatv2_residual_identity() {
    let mut c = Case::load("dgl_gatv2_basic");
    let (xs, x) = c.f64("x");
    let (_, g) = c.f64("grad_out");
    let (n, f) = (xs[0], xs[1]);
    let width: usize = c.f64("out").0[1..].iter().product();
    assert!(width > f, "the case must be widened");
    let extra = values(n * (width - f), 2.3);
    let widen = |rows: usize, v: &[f64], fill: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
        let mut out = Vec::with_capacity(rows * width);
        for r in 0..rows {
            out.extend_from_slice(&v[r * f..(r + 1) * f]);
            out.extend((f..width).map(|q| fill(r, q)));
        }
        out
    };
    let x2 = widen(n, &x, &|r, q| extra[r * (width - f) + q - f]);
    for w in ["fc_src.weight", "fc_dst.weight"] {
        let (ws, v) = c.f64(&format!("param.{w}"));
        c.set(
            &format!("param.{w}"),
            vec![ws[0], width],
            widen(ws[0], &v, &|_, _| 0.0),
        );
        // The gradient of the zero columns depends on DGL's ∂feat, which the case does not
        // hold: the widened case keeps only the gradient's original columns, checked below.
        c.0.remove(&format!("grad.{w}"));
    }
    let (os, mut out) = c.f64("out");
    for (k, v) in out.iter_mut().enumerate() {
        *v += x2[k];
    }
    let (_, gx) = c.f64("grad.x");
    let gx2 = widen(n, &gx, &|_, _| 0.0)
        .iter()
        .zip(&g)
        .map(|(a, b)| a + b)
        .collect();
    c.set("out", os, out);
    c.set("x", vec![n, width], x2);
    c.set("grad.x", vec![n, width], gx2);
    let reference = Case::load("dgl_gatv2_basic");
    let path = c.write("identity");
    let got = check_file(
        "dgl/gatv2_residual_identity.gat",
        &path,
        "dgl_gatv2_residual_identity",
    );
    for w in ["fc_src.weight", "fc_dst.weight"] {
        let (ws, want) = reference.f64(&format!("grad.{w}"));
        let ours = got.f64(&format!("grad.{w}")).unwrap();
        assert_eq!(ours.shape, [ws[0], width]);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for r in 0..ws[0] {
            for q in 0..f {
                let (a, b) = (ours.data[r * width + q], want[r * f + q]);
                assert!(
                    (a - b).abs() <= 1e-9 * scale,
                    "grad.{w}[{r}, {q}]: {a} vs DGL's {b}"
                );
            }
        }
    }
}

#[test]
fn dgl_gatv2_node_without_in_edges_aggregates_zero() {
    let mut c = Case::load("dgl_gatv2_basic");
    let ei = match &c.0["edge_index"] {
        (_, TensorData::I64(v)) => v.clone(),
        _ => panic!("edge_index is not i64"),
    };
    let e = ei.len() / 2;
    let lonely = 0i64;
    let kept: Vec<usize> = (0..e).filter(|&k| ei[e + k] != lonely).collect();
    assert!(kept.len() < e, "node {lonely} has in-edges to remove");
    let mut new_ei: Vec<i64> = kept.iter().map(|&k| ei[k]).collect();
    new_ei.extend(kept.iter().map(|&k| ei[e + k]));
    c.0.insert(
        "edge_index".into(),
        (vec![2, kept.len()], TensorData::I64(new_ei)),
    );
    let (os, mut out) = c.f64("out");
    let row: usize = os[1..].iter().product();
    out[..row].iter_mut().for_each(|v| *v = 0.0);
    c.set("out", os, out);
    let (ashape, alpha) = c.f64("alpha");
    let heads = ashape[1];
    let kept_alpha: Vec<f64> = kept
        .iter()
        .flat_map(|&k| alpha[k * heads..(k + 1) * heads].to_vec())
        .collect();
    c.set("alpha", vec![kept.len(), heads], kept_alpha);
    // Gradients change (node 0 no longer sends messages to itself): keep only the forward.
    c.0.retain(|n, _| !n.starts_with("grad.") || n == "grad_out");
    let path = c.write("lonely");
    let got = check_file_forward("dgl/gatv2.gat", &path, "dgl_gatv2_lonely");
    let ours = got.f64("out").unwrap();
    assert!(
        ours.data[..row].iter().all(|v| *v == 0.0),
        "{:?}",
        &ours.data[..row]
    );
}
