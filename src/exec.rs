//! Running generated code: the tensor table, and the helpers generated functions call through
//! [`crate::__private`].

use crate::bound::Bound;
use crate::prepared::PreparedGraphs;
use crate::shapes::Data;
use gatgrad_codegen::ir::{Program, Role, TensorId};
use gatgrad_runtime::kernels::{self, Float};
use gatgrad_runtime::pattern::{self, Pattern};
use gatgrad_runtime::DataError;
use std::borrow::Cow;
use std::sync::Arc;

/// A generated layer or model: its program and its compiled `forward` / `backward`.
pub trait Generated {
    /// The `.gat` source it was generated from.
    const SOURCE: &'static str;
    /// The derivative equations, as printed by `gatgrad derive`.
    const EQUATIONS: &'static str;
    /// Number of tensor slots.
    const NUM_TENSORS: usize;
    /// The forward pass, generic over the float type.
    fn forward<T: Float>(b: &Bound, v: &mut [Vec<T>]);
    /// The backward pass.
    fn backward<T: Float>(b: &Bound, v: &mut [Vec<T>]);
    /// The backward pass restricted to parameter gradients (what training needs).
    fn backward_params<T: Float>(b: &Bound, v: &mut [Vec<T>]);
    /// The program, with its derivative equations, as the compiler made it at build time.
    fn program() -> Program;
}

/// A program bound to data with its tensor table, ready to run generated code.
pub struct Session<T: Float> {
    /// The program.
    pub program: Program,
    /// Sizes, graphs, constants.
    pub bound: Bound,
    /// Tensor values by id (empty until computed).
    pub values: Vec<Vec<T>>,
}

impl<T: Float> Session<T> {
    /// Binds data; `slots` is the generated `NUM_TENSORS`.
    pub fn new(program: Program, data: &Data, slots: usize) -> Result<Self, DataError> {
        let bound = Bound::for_run(&program, data, std::mem::size_of::<T>(), true)?;
        Ok(Self::with_bound(program, bound, slots))
    }

    /// Like [`Session::new`], on graphs prepared beforehand (see [`crate::prepared`]).
    pub fn new_prepared(
        program: Program,
        data: &Data,
        graphs: PreparedGraphs,
        slots: usize,
    ) -> Result<Self, DataError> {
        let bound =
            Bound::for_run_prepared(&program, data, graphs, std::mem::size_of::<T>(), true)?;
        Ok(Self::with_bound(program, bound, slots))
    }

    fn with_bound(program: Program, mut bound: Bound, slots: usize) -> Self {
        let mut values = vec![Vec::new(); slots.max(program.tensors.len())];
        // The given values are only needed to fill the table.
        for (k, v) in std::mem::take(&mut bound.initial).into_iter().enumerate() {
            if let Some(v) = v {
                values[k] = v.into_float();
            }
        }
        Session {
            program,
            bound,
            values,
        }
    }

    /// Runs `G::forward`. Inputs with a zero pattern are first stored compactly (once).
    pub fn forward<G: Generated>(&mut self) {
        for (t, pat) in &self.bound.sparse {
            let v = &mut self.values[t.index()];
            if self.program.tensor(*t).role == Role::Input && v.len() != pat.nnz() {
                *v = pattern::compact(pat, v).into_owned();
            }
        }
        G::forward(&self.bound, &mut self.values);
    }

    /// Sets the seed `∂out` of a layer, taking `seed` as it is (no copy): later calls of
    /// [`Session::backward`] or [`Session::backward_params`] with `None` start from it.
    pub fn set_seed(&mut self, seed: Vec<T>) {
        if let Some(t) = self.program.seed {
            self.values[t.index()] = seed;
        }
    }

    /// Sets the seed `∂out` (a layer) and runs `G::backward`.
    pub fn backward<G: Generated>(&mut self, seed: Option<&[T]>) {
        if let Some(s) = seed {
            self.set_seed(s.to_vec());
        }
        G::backward(&self.bound, &mut self.values);
    }

    /// Like [`Session::backward`], restricted to parameter gradients (`G::backward_params`: the
    /// kernels only input gradients need are skipped, and their tensors never allocated).
    pub fn backward_params<G: Generated>(&mut self, seed: Option<&[T]>) {
        if let Some(s) = seed {
            self.set_seed(s.to_vec());
        }
        G::backward_params(&self.bound, &mut self.values);
    }

    /// A tensor's values as stored (compactly for a tensor with a zero pattern, see
    /// [`gatgrad_runtime::pattern`]).
    pub fn value(&self, t: TensorId) -> &[T] {
        &self.values[t.index()]
    }

    /// What the session holds on the heap, largest first: each tensor slot that holds values
    /// (by tensor name; slots past the program's tensors are stored sub-expressions) and the
    /// bound graphs. What `GATGRAD_PROFILE=1` prints after a bench run.
    pub fn memory(&self) -> Vec<(String, usize)> {
        let elem = std::mem::size_of::<T>();
        let mut parts: Vec<(String, usize)> = self
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() > 0)
            .map(|(k, v)| {
                let name = match self.program.tensors.get(k) {
                    Some(t) => t.name.clone(),
                    None => format!("stored #{k}"),
                };
                (name, v.capacity() * elem)
            })
            .collect();
        parts.push((
            "graphs (edges, CSR both ways)".into(),
            self.bound.graph_bytes(),
        ));
        parts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        parts
    }

    /// A tensor's values in the dense layout, whichever layout it is stored in.
    pub fn dense_value(&self, t: TensorId) -> Cow<'_, [T]> {
        dense_view(&self.bound, t, &self.values[t.index()])
    }
}

/// Self-loop edge features (or, with `adjoint`, their gradient mapped back to the given edges).
pub fn loop_fill<T: Float>(b: &Bound, x: &[T], width: usize, out: &mut [T], adjoint: bool) {
    let xs: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    if let Ok(y) = b.loop_fill(&xs, width, adjoint) {
        for (o, v) in out.iter_mut().zip(y) {
            *o = T::of(v);
        }
    }
}

/// Mean cross-entropy of `logits` `[N, k]` over the nodes where `mask` is set.
pub fn cross_entropy<T: Float>(
    b: &Bound,
    logits: &[T],
    k: usize,
    labels: TensorId,
    mask: TensorId,
) -> T {
    T::of(gatgrad_runtime::kernels::masked_cross_entropy(
        logits,
        k,
        &b.labels[&labels],
        &b.masks[&mask],
    ))
}

static PROFILING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static PROFILE: std::sync::Mutex<Vec<(&'static str, f64)>> = std::sync::Mutex::new(Vec::new());

/// Turns per-equation timing of generated code on or off, clearing what was recorded.
pub fn set_profiling(on: bool) {
    PROFILING.store(on, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut p) = PROFILE.lock() {
        p.clear();
    }
}

/// Seconds spent per generated equation function since profiling was turned on.
pub fn profile() -> Vec<(&'static str, f64)> {
    PROFILE.lock().map(|p| p.clone()).unwrap_or_default()
}

/// Runs one generated equation (or a phase of training), timing it when profiling is on.
#[inline]
pub fn timed(name: &'static str, f: impl FnOnce()) {
    if !PROFILING.load(std::sync::atomic::Ordering::Relaxed) {
        return f();
    }
    let t = std::time::Instant::now();
    f();
    record(name, t.elapsed().as_secs_f64());
}

/// Adds `secs` to the time recorded for `name`, when profiling is on.
pub fn record(name: &'static str, secs: f64) {
    if !PROFILING.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if let Ok(mut p) = PROFILE.lock() {
        match p.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += secs,
            None => p.push((name, secs)),
        }
    }
}

/// The number of values tensor `t` stores: the entries of its pattern when it has one and is
/// computed over it (compact layout), else `dense` (see [`gatgrad_runtime::pattern`]).
pub fn stored_len(b: &Bound, t: TensorId, dense: usize) -> usize {
    b.sparse.get(&t).map_or(dense, |pat| pat.nnz())
}

/// Tensor `t` in the dense layout, whichever layout it is stored in.
pub fn dense_view<'a, T: Float>(b: &Bound, t: TensorId, values: &'a [T]) -> Cow<'a, [T]> {
    match b.sparse.get(&t) {
        Some(pat) => pattern::expand(pat, values),
        None => Cow::Borrowed(values),
    }
}

/// `out[N, o] (+)= X[N, s] · W'` (`W` stored `[o, s]` when `w_os`): sparse × dense when `X` has a
/// known zero pattern (in either layout), GEMM otherwise.
#[allow(clippy::too_many_arguments)]
pub fn node_matmul<T: Float>(
    b: &Bound,
    xid: TensorId,
    x: &[T],
    s: usize,
    w: &[T],
    o: usize,
    w_os: bool,
    accumulate: bool,
    out: &mut [T],
) {
    let n = b.raw.num_nodes();
    let beta = if accumulate { T::ONE } else { T::ZERO };
    match b.sparse.get(&xid) {
        Some(pat) => {
            assert_eq!(pat.cols, s, "node_matmul: pattern width");
            pattern::sparse_nd(pat, &pattern::compact(pat, x), w, o, w_os, accumulate, out)
        }
        None => {
            let sw = if w_os {
                (1, s as isize)
            } else {
                (o as isize, 1)
            };
            kernels::par_gemm(n, s, o, x, (s as isize, 1), w, sw, beta, out)
        }
    }
}

/// `out[p, q] (+)= Σ_n A[n, p] · B[n, q]`: sparse when either side has a known zero pattern.
#[allow(clippy::too_many_arguments)]
pub fn node_t_matmul<T: Float>(
    b: &Bound,
    aid: TensorId,
    a: &[T],
    p: usize,
    bid: TensorId,
    bv: &[T],
    q: usize,
    accumulate: bool,
    out: &mut [T],
) {
    let n = b.raw.num_nodes();
    let beta = if accumulate { T::ONE } else { T::ZERO };
    let columns = |t: TensorId, pat: &Pattern| {
        b.columns
            .get(&t)
            .cloned()
            .unwrap_or_else(|| Arc::new(pattern::Columns::new(pat)))
    };
    if let Some(pat) = b.sparse.get(&bid) {
        let (a, bv) = (dense_view(b, aid, a), pattern::compact(pat, bv));
        let cols = columns(bid, pat);
        pattern::sparse_tn(pat, &cols, &bv, &a, p, true, accumulate, out)
    } else if let Some(pat) = b.sparse.get(&aid) {
        let (a, cols) = (pattern::compact(pat, a), columns(aid, pat));
        pattern::sparse_tn(pat, &cols, &a, bv, q, false, accumulate, out)
    } else {
        // The reduction runs over the nodes (`k`), which `par_gemm` never splits.
        kernels::par_gemm(p, n, q, a, (1, p as isize), bv, (q as isize, 1), beta, out)
    }
}
