//! Per-target softmax of edge scores (PyG's), and the masked cross-entropy loss.

use super::*;

/// Per-target softmax of edge scores, PyG style: per target and column the maximum is subtracted
/// and 1e-16 is added to the denominator. `scores` and `out` are `[E, width]` by edge id; each
/// target writes only its own in-edges, so targets run in parallel (in fixed chunks). Edge rows
/// are read whole; per column, maxima and sums run over the in-edges in CSR order (see
/// [`softmax_target`], which fused loops call for one target).
pub fn softmax_by_target<T: Float>(
    graph: &crate::Graph,
    scores: &[T],
    width: usize,
    out: &mut [T],
) {
    assert_eq!(scores.len(), graph.num_edges() * width);
    assert_eq!(out.len(), scores.len());
    let scores = Rows::new(scores, width);
    let outs = [TargetOut::edges(graph, out, width)];
    par_by_target(graph, &outs, |_, rows, scratch| {
        softmax_target(&scores, &mut rows[0], scratch);
    });
}

/// The softmax of [`softmax_by_target`] for the target `out` is at: reads the score rows of its
/// in-edges from `scores` and writes their rows of `out` (`scratch` holds the per-column maxima
/// and denominators).
pub fn softmax_target<T: Float, S: EdgeRows<T> + ?Sized>(
    scores: &S,
    out: &mut TargetRows<'_, T>,
    scratch: &mut Vec<T>,
) {
    let width = out.width;
    scratch.clear();
    scratch.resize(width, T::of(f64::NEG_INFINITY));
    scratch.resize(2 * width, T::ZERO);
    let (mx, denom) = scratch.split_at_mut(width);
    for &e in out.graph.in_edges(out.target) {
        let row = scores.edge_row(e as usize);
        for (m, &x) in mx.iter_mut().zip(row) {
            *m = m.max(x);
        }
    }
    out.each_edge(|e, orow| {
        let row = scores.edge_row(e);
        for (((o, &x), &m), d) in orow.iter_mut().zip(row).zip(&*mx).zip(denom.iter_mut()) {
            *o = (x - m).exp();
            *d += *o;
        }
    });
    denom.iter_mut().for_each(|d| *d += T::of(1e-16));
    out.each_edge(|_, orow| {
        for (o, &d) in orow.iter_mut().zip(&*denom) {
            *o = *o / d;
        }
    });
}

/// Row access to an edge tensor by edge id (what [`softmax_target`] reads scores through).
pub trait EdgeRows<T> {
    /// The row of edge `e`.
    fn edge_row(&self, e: usize) -> &[T];
}

/// A tensor stored as rows of `width`, read only.
pub struct Rows<'a, T> {
    data: &'a [T],
    width: usize,
}

impl<'a, T> Rows<'a, T> {
    /// Rows of `width` over `data`.
    pub fn new(data: &'a [T], width: usize) -> Self {
        Rows { data, width }
    }
}

impl<T> EdgeRows<T> for Rows<'_, T> {
    fn edge_row(&self, e: usize) -> &[T] {
        &self.data[e * self.width..(e + 1) * self.width]
    }
}
/// Mean cross-entropy `log Σ_k e^{x_k} − x_{y}` of `logits` (rows of `k`) over the rows where `mask`
/// is set, accumulated in f64 (0 when the mask is empty).
pub fn masked_cross_entropy<T: Float>(logits: &[T], k: usize, y: &[usize], mask: &[bool]) -> f64 {
    let mut total = 0.0f64;
    let mut count = 0usize;
    for (n, row) in logits.chunks(k).enumerate() {
        if !mask[n] {
            continue;
        }
        let mx = row
            .iter()
            .map(|v| v.to_f64())
            .fold(f64::NEG_INFINITY, f64::max);
        let lse = mx
            + row
                .iter()
                .map(|v| (v.to_f64() - mx).exp())
                .sum::<f64>()
                .ln();
        total += lse - row[y[n]].to_f64();
        count += 1;
    }
    total / count.max(1) as f64
}
