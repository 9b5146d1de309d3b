//! Loops over the targets of a graph: each target writes the rows of its in-edges (or its own
//! node row) and no others, so targets run in parallel with the same bits for any thread count.

use super::*;
use rayon::prelude::*;

/// An output of a loop over targets ([`par_by_target`]): an edge tensor (rows by edge id, each
/// owned by the edge's target) or a node tensor (rows by node id, each owned by that node).
pub struct TargetOut<'a, T> {
    data: SharedSlice<'a, T>,
    width: usize,
    by_edge: bool,
    /// An edge tensor kept for the visited target only: each task holds the rows of one target's
    /// in-edges in a buffer of its own, and nothing is stored (see [`TargetOut::scratch`]).
    scratch: bool,
}

impl<'a, T> TargetOut<'a, T> {
    /// An edge tensor of graph `g`: `out` holds `E` rows of `width`.
    pub fn edges(g: &crate::Graph, out: &'a mut [T], width: usize) -> Self {
        assert_eq!(
            out.len(),
            g.num_edges() * width,
            "edge tensor of the wrong size"
        );
        TargetOut {
            data: SharedSlice::new(out),
            width,
            by_edge: true,
            scratch: false,
        }
    }

    /// An edge tensor of graph `g` of rows of `width` that the loop writes and reads only for the
    /// target being visited: no memory for `E` rows, only one target's in-edges per task. `g`'s
    /// in-edges must be numbered in target order (as [`crate::Graph::sorted_by_target`] numbers
    /// them), so that the in-edges of a target are a contiguous range of edge ids.
    pub fn scratch(g: &crate::Graph, width: usize) -> Self {
        assert!(
            g.in_edges_in_order(),
            "a scratch edge tensor needs edges numbered in target order"
        );
        TargetOut {
            data: SharedSlice::new(&mut []),
            width,
            by_edge: true,
            scratch: true,
        }
    }

    /// A node tensor of graph `g`: `out` holds `N` rows of `width`.
    pub fn nodes(g: &crate::Graph, out: &'a mut [T], width: usize) -> Self {
        assert_eq!(
            out.len(),
            g.num_nodes() * width,
            "node tensor of the wrong size"
        );
        TargetOut {
            data: SharedSlice::new(out),
            width,
            by_edge: false,
            scratch: false,
        }
    }
}

/// One task's access to a [`TargetOut`] while [`par_by_target`] visits a target `i`: the rows of
/// the edges entering `i` (edge tensors) or row `i` (node tensors), and no others.
///
/// Rows are written through [`each_edge`](Self::each_edge) (which walks `i`'s in-edges itself)
/// and [`own_row`](Self::own_row), and read through [`row`](Self::row), which checks that the row
/// belongs to `i`.
pub struct TargetRows<'s, T> {
    ptr: *mut T,
    len: usize,
    /// The edge id of row 0 of the buffer: the first in-edge of the target for a scratch tensor,
    /// 0 for a stored one.
    first: usize,
    pub(super) width: usize,
    by_edge: bool,
    pub(super) graph: &'s crate::Graph,
    pub(super) target: usize,
    _life: std::marker::PhantomData<&'s mut [T]>,
}

impl<T> TargetRows<'_, T> {
    /// The start of row `k`, checking only that the row is in bounds.
    #[inline]
    fn start(&self, k: usize) -> usize {
        match k.checked_sub(self.first) {
            Some(r) if (r + 1) * self.width <= self.len => r * self.width,
            _ => panic!("row {k} out of bounds"),
        }
    }

    /// Row `k`, to read: `k` must be an in-edge of the current target (edge tensors) or the
    /// target itself (node tensors), else this panics.
    #[inline]
    pub fn row(&self, k: usize) -> &[T] {
        let owner = if self.by_edge {
            self.graph.targets()[k] as usize
        } else {
            k
        };
        assert!(
            owner == self.target,
            "row {k} does not belong to target {}",
            self.target
        );
        let start = self.start(k);
        // SAFETY: in bounds (checked). Row `k` belongs to the current target (checked), which only
        // this task visits, and only through this value; `&self` keeps it from being written
        // while the returned slice lives.
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), self.width) }
    }

    /// `f(e, row of e)` for every in-edge `e` of the current target, in CSR order (an edge
    /// tensor). The row is a closure argument, so the optimiser knows it aliases nothing else.
    #[inline]
    pub fn each_edge(&mut self, mut f: impl FnMut(usize, &mut [T])) {
        assert!(self.by_edge, "each_edge on a node tensor");
        for &e in self.graph.in_edges(self.target) {
            let e = e as usize;
            let start = self.start(e);
            // SAFETY: in bounds (checked). `e` enters the current target (the graph's CSR lists
            // every edge under its target only), which only this task visits, and only through
            // this value; `&mut self` makes the slice the only live access to the row.
            f(e, unsafe {
                std::slice::from_raw_parts_mut(self.ptr.add(start), self.width)
            });
        }
    }

    /// `f(i, row of i)` for the current target `i` (a node tensor).
    #[inline]
    pub fn own_row(&mut self, f: impl FnOnce(usize, &mut [T])) {
        assert!(!self.by_edge, "own_row on an edge tensor");
        let i = self.target;
        let start = self.start(i);
        // SAFETY: in bounds (checked); row `i` belongs to the current target, see `each_edge`.
        f(i, unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(start), self.width)
        });
    }
}

impl<T> EdgeRows<T> for TargetRows<'_, T> {
    fn edge_row(&self, e: usize) -> &[T] {
        self.row(e)
    }
}

/// Visits every target `i` of `g`, targets in parallel in fixed chunks of [`TASK`] and in
/// increasing order within a chunk: `f(i, rows, scratch)`, where `rows[k]` gives access to the rows
/// of `outs[k]` that `i` owns (its in-edges' rows, or its own node row) and `scratch` is a buffer
/// reused across the targets of a chunk. Every row of every output is owned by exactly one target,
/// so whatever `f` writes is the same for any thread count.
pub fn par_by_target<T: Float>(
    g: &crate::Graph,
    outs: &[TargetOut<'_, T>],
    f: impl Fn(usize, &mut [TargetRows<'_, T>], &mut Vec<T>) + Sync,
) {
    let n = g.num_nodes();
    let (in_ptr, _) = g.in_csr();
    (0..n.div_ceil(TASK)).into_par_iter().for_each(|c| {
        // No two tasks (and no two live values in one task) reach the same row: see `task_rows`.
        let mut rows = task_rows(g, outs);
        let mut buffers: Vec<Vec<T>> = outs.iter().map(|_| Vec::new()).collect();
        let mut scratch = Vec::new();
        for i in c * TASK..((c + 1) * TASK).min(n) {
            visit(&mut rows, outs, &mut buffers, in_ptr, i);
            f(i, &mut rows, &mut scratch);
        }
    });
}

/// [`par_by_target`] that also sums into dense accumulators: `f(i, rows, scratch, accs)` adds
/// target `i`'s terms to `accs[k]` (of `widths[k]` entries). Targets are visited in fixed chunks of
/// [`CHUNK`], in increasing order within a chunk, each chunk's accumulators starting from zero, and
/// the chunks' sums are added in chunk order: exactly the order of [`par_sum_edges_by_target`], so
/// a sum moved into a fused pass keeps its bits, for any thread count.
pub fn par_by_target_with_sums<T: Float>(
    g: &crate::Graph,
    outs: &[TargetOut<'_, T>],
    widths: &[usize],
    f: impl Fn(usize, &mut [TargetRows<'_, T>], &mut Vec<T>, &mut [Vec<T>]) + Sync,
) -> Vec<Vec<T>> {
    let n = g.num_nodes();
    let (in_ptr, _) = g.in_csr();
    let partial: Vec<Vec<Vec<T>>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut rows = task_rows(g, outs);
            let mut buffers: Vec<Vec<T>> = outs.iter().map(|_| Vec::new()).collect();
            let mut scratch = Vec::new();
            let mut accs: Vec<Vec<T>> = widths.iter().map(|&w| vec![T::ZERO; w]).collect();
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                visit(&mut rows, outs, &mut buffers, in_ptr, i);
                f(i, &mut rows, &mut scratch, &mut accs);
            }
            accs
        })
        .collect();
    let mut out: Vec<Vec<T>> = widths.iter().map(|&w| vec![T::ZERO; w]).collect();
    for p in partial {
        for (o, acc) in out.iter_mut().zip(p) {
            for (o, v) in o.iter_mut().zip(acc) {
                *o += v;
            }
        }
    }
    out
}

/// One task's [`TargetRows`] of every output: made only by the drivers above, one per task, so
/// the rows they hand out are those of the target the task visits.
fn task_rows<'s, T>(g: &'s crate::Graph, outs: &[TargetOut<'_, T>]) -> Vec<TargetRows<'s, T>> {
    outs.iter()
        .map(|o| TargetRows {
            ptr: o.data.ptr,
            len: o.data.len,
            first: 0,
            width: o.width,
            by_edge: o.by_edge,
            graph: g,
            target: 0,
            _life: std::marker::PhantomData,
        })
        .collect()
}

/// Points every row access at target `i`: a scratch output's rows at the task's buffer, grown to
/// `i`'s in-edges.
fn visit<T: Float>(
    rows: &mut [TargetRows<'_, T>],
    outs: &[TargetOut<'_, T>],
    buffers: &mut [Vec<T>],
    in_ptr: &[usize],
    i: usize,
) {
    for ((r, o), buf) in rows.iter_mut().zip(outs).zip(buffers.iter_mut()) {
        r.target = i;
        if o.scratch {
            let len = (in_ptr[i + 1] - in_ptr[i]) * o.width;
            if buf.len() < len {
                buf.resize(len, T::ZERO);
            }
            r.ptr = buf.as_mut_ptr();
            r.len = len;
            r.first = in_ptr[i];
        }
    }
}

/// Fills the rows (of `width`) of an edge tensor target by target: `f(edge, row)` for every
/// in-edge of every target, targets in parallel. Reads of the target's own rows stay in cache
/// across its in-edges. Every edge has exactly one target, so rows are written once.
pub fn par_edges_by_target<T: Float>(
    g: &crate::Graph,
    out: &mut [T],
    width: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    assert_eq!(out.len(), g.num_edges() * width);
    let sh = SharedSlice::new(out);
    let n = g.num_nodes();
    (0..n.div_ceil(TASK)).into_par_iter().for_each(|c| {
        for i in c * TASK..((c + 1) * TASK).min(n) {
            for &e in g.in_edges(i) {
                let e = e as usize;
                // SAFETY: edge `e` is visited once, by the task owning its target.
                let row = unsafe { sh.slice_mut(e * width, width) };
                f(e, row);
            }
        }
    });
}

/// `Σ_edges f(edge)` into a buffer of `width`, visiting edges target by target in fixed chunks of
/// targets whose partial sums are added in order (deterministic for any thread count).
pub fn par_sum_edges_by_target<T: Float>(
    g: &crate::Graph,
    width: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) -> Vec<T> {
    par_sum_rows(g.num_nodes(), width, |i, acc| {
        for &e in g.in_edges(i) {
            f(e as usize, acc);
        }
    })
}
