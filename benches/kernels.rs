//! Generated forward and backward passes of GATv2 and GAT next to a plain SpMM yardstick.
//!
//! Graph: 2,000 nodes, 20,000 random edges (22,000 after the self loops both layers add); F = 32
//! input features, H = 4 heads, C = 8 channels per head; f32. The yardstick sums the neighbour rows
//! of width H·C over the in-edges of every node of the same self-loop graph: the aggregation every
//! attention layer has to do at least once, without scores, softmax or linear maps.
//!
//! ```text
//! cargo bench --bench kernels                  # full run
//! cargo bench --bench kernels -- --quick       # a few seconds
//! cargo bench --bench kernels -- gatv2         # one group
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::kernels::par_rows;
use gatgrad::runtime::{random_graph, Graph};
use gatgrad::synth::{dim_sizes, random_data};
use gatgrad::zoo::{Gat, GatV2};
use std::hint::black_box;
use std::time::Duration;

const NODES: usize = 2_000;
const EDGES: usize = 20_000;
const F: usize = 32;
const H: usize = 4;
const C: usize = 8;

fn graph() -> Graph {
    random_graph(NODES, EDGES, 1)
}

/// A session of `G` on the benchmark graph, after one forward pass, with a fixed seed `d out`.
fn session<G: Generated>(graph: &Graph) -> (Session<f32>, Vec<f32>) {
    let p = G::program();
    let dims = dim_sizes(&p, |name| match name {
        "H" => H,
        "C" => C,
        _ => F,
    });
    let data = random_data(&p, graph, &dims, 1);
    let mut s = Session::<f32>::new(p, &data, G::NUM_TENSORS).expect("random data binds");
    s.forward::<G>();
    let out_len = s.value(s.program.output).len();
    let seed = (0..out_len)
        .map(|k| ((k % 17) as f32 - 8.0) / 8.0)
        .collect();
    (s, seed)
}

fn layer<G: Generated>(c: &mut Criterion, name: &str) {
    let (mut s, seed) = session::<G>(&graph());
    let mut group = c.benchmark_group(name);
    group.bench_function("forward", |b| b.iter(|| s.forward::<G>()));
    // `backward` only reads what `forward` computed, so it can be repeated on its own.
    group.bench_function("backward", |b| {
        b.iter(|| s.backward::<G>(Some(black_box(&seed))))
    });
    group.bench_function("forward+backward", |b| {
        b.iter(|| {
            s.forward::<G>();
            s.backward::<G>(Some(black_box(&seed)));
        })
    });
    group.finish();
    black_box(s.value(s.program.output));
}

fn gatv2(c: &mut Criterion) {
    layer::<GatV2>(c, "gatv2");
}

fn gat(c: &mut Criterion) {
    layer::<Gat>(c, "gat");
}

/// `out[i, :] = Σ_{e: j -> i} x[j, :]`: one row of width `width` per node.
fn spmm_seq(g: &Graph, x: &[f32], width: usize, out: &mut [f32]) {
    for (i, row) in out.chunks_mut(width).enumerate() {
        row.fill(0.0);
        for &e in g.in_edges(i) {
            let j = g.src(e as usize);
            for (o, v) in row.iter_mut().zip(&x[j * width..(j + 1) * width]) {
                *o += v;
            }
        }
    }
}

/// The same, parallel over target rows with the runtime's `par_rows` (as generated gathers are).
fn spmm_par(g: &Graph, x: &[f32], width: usize, out: &mut [f32]) {
    par_rows(out, width, |i, row| {
        row.fill(0.0);
        for &e in g.in_edges(i) {
            let j = g.src(e as usize);
            for (o, v) in row.iter_mut().zip(&x[j * width..(j + 1) * width]) {
                *o += v;
            }
        }
    });
}

fn spmm(c: &mut Criterion) {
    let (g, _) = graph().with_self_loops();
    let width = H * C;
    let x: Vec<f32> = (0..NODES * width)
        .map(|k| ((k % 13) as f32 - 6.0) / 6.0)
        .collect();
    let mut out = vec![0.0f32; NODES * width];
    spmm_seq(&g, &x, width, &mut out);
    let want = out.clone();
    spmm_par(&g, &x, width, &mut out);
    assert_eq!(out, want, "parallel and sequential SpMM disagree");
    let mut group = c.benchmark_group("spmm");
    group.bench_function("sequential", |b| {
        b.iter(|| spmm_seq(&g, black_box(&x), width, &mut out))
    });
    group.bench_function("par_rows", |b| {
        b.iter(|| spmm_par(&g, black_box(&x), width, &mut out))
    });
    group.finish();
    black_box(&out);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = gatv2, gat, spmm
}
criterion_main!(benches);
