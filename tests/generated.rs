//! Differential tests of generated code: equal to the reference interpreter (≤ 1e-12 relative, f64)
//! on random graphs with isolated nodes, multi-edges and self loops, with 1 to 5 heads; equal to
//! PyG on the reference cases (≤ 1e-9); the same bits with 1 and 2 threads.

use gatgrad::codegen::ir::{Program, Role, TensorId};
use gatgrad::exec::{Generated, Session};
use gatgrad::interp::Interpreter;
use gatgrad::runtime::{Graph, TensorFile};
use gatgrad::shapes::Data;
use gatgrad::synth::{dim_sizes, random_data};
use gatgrad::zoo::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Max-norm error relative to the larger of the reference's max-norm and 1. The floor matters for
/// gradients that vanish mathematically (a bias added to every score of a softmax, such as
/// TransformerConv's `lin_key.bias`), whose computed values are rounding noise on both sides.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// Random graph on `n` nodes where the last two nodes have no in-edges, with a repeated edge and
/// self loops.
fn graph(n: usize, e: usize, seed: u64) -> Graph {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = vec![0, 0, 1];
    let mut dst = vec![1, 1, 1];
    for _ in 0..e {
        src.push(rng.gen_range(0..n as u32));
        dst.push(rng.gen_range(0..n as u32 - 2));
    }
    Graph::new(n, src, dst).unwrap()
}

fn with_dropout(p: &Program, data: &mut Data, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let probe: Interpreter<f64> = Interpreter::new(p, data).unwrap();
    for (k, t) in p.tensors.iter().enumerate() {
        if let Role::Dropout { .. } = t.role {
            let len: usize = probe.shape(TensorId(k as u32)).iter().product();
            let m = (0..len)
                .map(|_| if rng.gen_bool(0.6) { 2.5 } else { 0.0 })
                .collect();
            data.dropout.insert(t.name.clone(), m);
        }
    }
}

fn differential<G: Generated>(seed: u64) {
    let p = G::program();
    for heads in 1..=5usize {
        let g = graph(23, 60, seed + heads as u64);
        let dims = dim_sizes(&p, |name| match name {
            "H" => heads,
            "C" => 3,
            "K" => 4,
            _ => 5,
        });
        let mut data = random_data(&p, &g, &dims, seed * 31 + heads as u64);
        with_dropout(&p, &mut data, seed);
        let mut it: Interpreter<f64> = Interpreter::new(&p, &data).unwrap();
        let out_len: usize = it.shape(p.output).iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r: Vec<f64> = (0..out_len).map(|_| rng.gen_range(-1.0..1.0)).collect();
        if let Some(s) = p.seed {
            it.set(s, r.clone()).unwrap();
        }
        it.forward();
        it.backward();
        let mut s: Session<f64> = Session::new(p.clone(), &data, G::NUM_TENSORS).unwrap();
        s.forward::<G>();
        s.backward::<G>(Some(&r));
        let mut checked = vec![p.output];
        checked.extend(p.loss);
        checked.extend(p.attention);
        checked.extend(p.grads.iter().map(|(_, g)| *g));
        for t in checked {
            let err = rel_err(s.value(t), it.value(t).unwrap());
            assert!(
                err <= 1e-12,
                "{}: `{}` differs from the interpreter by {err:e} (H = {heads})",
                p.name,
                p.tensor(t).name
            );
        }
    }
}

/// Every zoo model (`models/**/*.gat`, through `gatgrad::zoo::for_each`): generated code equals the
/// interpreter. A new file in `models/` is covered without editing this test.
#[test]
fn every_zoo_model_equals_interpreter() {
    struct Differential(Vec<String>);
    impl gatgrad::zoo::Visitor for Differential {
        fn visit<M: Generated>(&mut self, file: &str) {
            differential::<M>(self.0.len() as u64 + 1);
            self.0.push(file.to_string());
        }
    }
    let mut d = Differential(Vec::new());
    gatgrad::zoo::for_each(&mut d);
    let mut files = Vec::new();
    zoo_files(std::path::Path::new("models"), &mut files);
    files.sort();
    let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        d.0, files,
        "every file of models/ is compiled into the zoo and checked"
    );
}

/// Every zoo model carries, as data made at build time, exactly the program a fresh compile of its
/// source gives (so nothing at run time re-runs the compiler).
#[test]
fn every_zoo_model_carries_its_compiled_program() {
    struct Carried(usize);
    impl gatgrad::zoo::Visitor for Carried {
        fn visit<M: Generated>(&mut self, file: &str) {
            let fresh = gatgrad::compile(file, M::SOURCE)
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .program;
            assert!(M::program() == fresh, "{file}: carried program differs");
            self.0 += 1;
        }
    }
    let mut c = Carried(0);
    gatgrad::zoo::for_each(&mut c);
    assert!(c.0 >= 10, "only {} zoo models visited", c.0);
}

/// The `.gat` files under `dir` of the repository, subfolders included (`models/dgl/gatv2.gat`).
fn zoo_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    for entry in std::fs::read_dir(full).unwrap() {
        let name = dir.join(entry.unwrap().file_name());
        if std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(&name)
            .is_dir()
        {
            zoo_files(&name, out);
        } else if name.extension().is_some_and(|e| e == "gat") {
            out.push(name);
        }
    }
}

/// `silu` and `gelu`, added through their table entries alone.
#[gatgrad::derive_gradients(file = "tests/fixtures/derivatives/silu_gelu.gat")]
struct SiluGelu;

#[test]
fn silu_gelu_equals_interpreter() {
    differential::<SiluGelu>(9);
}

/// GATv2Conv(residual=True) with the residual product inline, split into its own tensor, and a
/// gated GATv2 with its gate as its own tensor and written inline: the variants of
/// `examples/variants/` (see `examples/variant_speed.rs`).
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_residual_inline.gat")]
struct ResidualInline;
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_residual_split.gat")]
struct ResidualSplit;
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_gated.gat")]
struct Gated;
#[gatgrad::derive_gradients(file = "examples/variants/gatv2_gated_inline.gat")]
struct GatedInline;

/// One stored sub-expression of each shape (`codegen::invariant`): edge, node and dense tensors.
#[gatgrad::derive_gradients(file = "tests/fixtures/derivatives/invariant_shapes.gat")]
struct InvariantShapes;

#[test]
fn variants_equal_interpreter() {
    differential::<ResidualInline>(11);
    differential::<ResidualSplit>(12);
    differential::<Gated>(13);
    differential::<GatedInline>(14);
    differential::<InvariantShapes>(15);
}

/// The `lift` pass makes the inline residual the split one: the same kernel plan outline and,
/// on the same data, the same bits of the output and of every gradient (in f32, where a
/// different summation order would show).
#[test]
fn inline_and_split_residual_have_one_plan_and_the_same_bits() {
    same_plan_and_bits::<ResidualInline, ResidualSplit>();
}

/// Storing invariant sub-expressions makes the inline gate the split one (`g[i <- j, h]`): the
/// same kernel plan outline, the same bits of the output and of every gradient.
#[test]
fn inline_and_split_gate_have_one_plan_and_the_same_bits() {
    same_plan_and_bits::<GatedInline, Gated>();
}

/// Two spellings of one model: the same plan outline and, on the same data, the same bits of the
/// output and of every gradient (matched by external name), in f32.
fn same_plan_and_bits<I: Generated, S: Generated>() {
    let (pi, ps) = (I::program(), S::program());
    assert_eq!(
        gatgrad::codegen::plan::Plan::build(&pi).outline(),
        gatgrad::codegen::plan::Plan::build(&ps).outline()
    );
    let g = graph(40, 150, 5);
    let dims = dim_sizes(&pi, |name| match name {
        "H" => 3,
        "C" => 4,
        _ => 37,
    });
    let mut data = random_data(&pi, &g, &dims, 21);
    with_dropout(&pi, &mut data, 22);
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut si: Session<f32> = Session::new(pi.clone(), &data, I::NUM_TENSORS).unwrap();
    let mut ss: Session<f32> = Session::new(ps.clone(), &data, S::NUM_TENSORS).unwrap();
    si.forward::<I>();
    let out_len = si.value(pi.output).len();
    let r: Vec<f32> = (0..out_len).map(|_| rng.gen_range(-1.0..1.0)).collect();
    si.backward::<I>(Some(&r));
    ss.forward::<S>();
    ss.backward::<S>(Some(&r));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(si.value(pi.output)),
        bits(ss.value(ps.output)),
        "output"
    );
    assert!(si.value(pi.output).iter().any(|v| *v != 0.0));
    assert_eq!(pi.grads.len(), ps.grads.len());
    for &(leaf, grad) in &pi.grads {
        let name = &pi.tensor(leaf).external;
        let (_, other) = ps
            .grads
            .iter()
            .find(|(l, _)| &ps.tensor(*l).external == name)
            .unwrap_or_else(|| panic!("the split variant has a gradient for `{name}`"));
        assert_eq!(
            bits(si.value(grad)),
            bits(ss.value(*other)),
            "gradient of `{name}`"
        );
        assert!(
            si.value(grad).iter().any(|v| *v != 0.0),
            "gradient of `{name}` is not all zero"
        );
    }
}

fn pyg_case<G: Generated>(case: &str) {
    let p = G::program();
    let path = format!(
        "{}/tests/reference/{case}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    let file = TensorFile::load(&path).unwrap();
    let data = gatgrad::cases::read_data(&p, &file, &HashMap::new(), &HashMap::new()).unwrap();
    let mut s: Session<f64> = Session::new(p.clone(), &data, G::NUM_TENSORS).unwrap();
    s.forward::<G>();
    let seed = file
        .has("grad_out")
        .then(|| file.f64("grad_out").unwrap().data);
    s.backward::<G>(seed.as_deref());
    let mut pairs = vec![("out".to_string(), p.output)];
    pairs.extend(p.loss.map(|l| ("loss".to_string(), l)));
    for (leaf, g) in &p.grads {
        pairs.push((format!("grad.{}", p.tensor(*leaf).external), *g));
    }
    for (name, t) in pairs {
        let want = file.f64(&name).unwrap().data;
        let err = rel_err(s.value(t), &want);
        assert!(err <= 1e-9, "{case}: `{name}` relative error {err:e}");
    }
}

#[test]
fn pyg_reference_cases() {
    pyg_case::<GatV2>("gatv2_basic");
    pyg_case::<GatV2Shared>("gatv2_share_weights");
    pyg_case::<GatV2NoLoops>("gatv2_isolated_no_self_loops");
    pyg_case::<Gat>("gat_v1");
    pyg_case::<GatV2TwoLayer>("gatv2_two_layer");
}

#[test]
fn same_bits_with_one_and_two_threads() {
    let p = GatV2TwoLayer::program();
    let g = gatgrad::runtime::random_graph(3000, 20000, 9);
    let dims = dim_sizes(&p, |name| match name {
        "H" => 4,
        "C" => 8,
        "K" => 7,
        _ => 32,
    });
    let data = random_data(&p, &g, &dims, 11);
    let run = |threads: usize| -> Vec<Vec<u32>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut s: Session<f32> =
                Session::new(p.clone(), &data, GatV2TwoLayer::NUM_TENSORS).unwrap();
            s.forward::<GatV2TwoLayer>();
            s.backward::<GatV2TwoLayer>(None);
            p.grads
                .iter()
                .map(|(_, g)| s.value(*g).iter().map(|x| x.to_bits()).collect())
                .collect()
        })
    };
    assert_eq!(run(1), run(2));
}

/// `Session::memory` (what `GATGRAD_PROFILE=1` prints after a bench) counts every stored tensor at
/// its element size and the bound graphs, largest first.
#[test]
fn session_memory_counts_tensors_and_graphs() {
    let p = GatV2::program();
    let g = graph(23, 60, 3);
    let dims = dim_sizes(&p, |name| match name {
        "H" => 2,
        "C" => 3,
        _ => 5,
    });
    let data = random_data(&p, &g, &dims, 3);
    let mut s: Session<f32> = Session::new(p.clone(), &data, GatV2::NUM_TENSORS).unwrap();
    s.forward::<GatV2>();
    let memory = s.memory();
    let bytes = |name: &str| memory.iter().find(|(n, _)| n == name).map(|(_, b)| *b);
    assert_eq!(bytes("x"), Some(23 * 5 * 4), "{memory:?}");
    assert_eq!(bytes("xl"), Some(23 * 2 * 3 * 4), "{memory:?}");
    let edges = 63 + 23; // the given edges (self loops removed) and one loop per node
    assert!(
        bytes("a").is_some_and(|b| b >= (edges - 3) * 2 * 4),
        "{memory:?}"
    );
    let graphs = bytes("graphs (edges, CSR both ways)").unwrap();
    assert!(graphs >= 2 * 63 * 4 * 4, "{memory:?}");
    assert!(memory.windows(2).all(|w| w[0].1 >= w[1].1), "{memory:?}");
}
