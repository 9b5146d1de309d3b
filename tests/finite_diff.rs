//! Central finite differences (f64) agree with the derived gradients for every zoo model, every
//! parameter and every input, on random graphs with a node without in-edges, multi-edges and self
//! loops. For models with dropout, random masks are fixed so the function is deterministic.

use gatgrad::codegen::ir::{Program, Role};
use gatgrad::interp::Interpreter;
use gatgrad::runtime::Graph;
use gatgrad::shapes::{file_name, Data};
use gatgrad::synth::{dim_sizes, random_data};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 8 nodes; node 7 has out-edges only; edges 0→1 twice; self loops at 2 and 5.
fn test_graph(seed: u64) -> Graph {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = vec![0, 0, 2, 5, 7, 7];
    let mut dst = vec![1, 1, 2, 5, 0, 3];
    for _ in 0..14 {
        src.push(rng.gen_range(0..8));
        dst.push(rng.gen_range(0..7));
    }
    Graph::new(8, src, dst).unwrap()
}

/// The scalar being differentiated: the loss, or Σ out · R for a layer.
fn objective(p: &Program, data: &Data, r: &[f64]) -> f64 {
    let mut it: Interpreter<f64> = Interpreter::new(p, data).unwrap();
    it.forward();
    match p.loss {
        Some(l) => it.value(l).unwrap()[0],
        None => it
            .value(p.output)
            .unwrap()
            .iter()
            .zip(r)
            .map(|(a, b)| a * b)
            .sum(),
    }
}

fn check_path(path: &str, seed: u64) {
    let file = path.rsplit('/').next().unwrap_or(path);
    let compiled = gatgrad::compile_file(std::path::Path::new(path)).unwrap();
    check_program(file, &compiled.program, seed);
}

/// Checks every derived gradient of `p` (called `file` in messages).
fn check_program(file: &str, p: &Program, seed: u64) {
    let graph = test_graph(seed);
    let dims = dim_sizes(p, |name| match name {
        "H" => 2,
        "C" => 2,
        "K" => 3,
        _ => 3,
    });
    let mut data = random_data(p, &graph, &dims, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    // Fixed dropout masks (training mode) so that dropout is part of what is checked.
    let probe: Interpreter<f64> = Interpreter::new(p, &data).unwrap();
    for (k, t) in p.tensors.iter().enumerate() {
        if let Role::Dropout { .. } = t.role {
            let len: usize = probe
                .shape(gatgrad::codegen::ir::TensorId(k as u32))
                .iter()
                .product();
            let keep = 1.0 / (1.0 - 0.3);
            let m = (0..len)
                .map(|_| if rng.gen_bool(0.7) { keep } else { 0.0 })
                .collect();
            data.dropout.insert(t.name.clone(), m);
        }
    }
    let out_len: usize = probe.shape(p.output).iter().product();
    drop(probe);
    let r: Vec<f64> = (0..out_len).map(|_| rng.gen_range(-1.0..1.0)).collect();

    let mut it: Interpreter<f64> = Interpreter::new(p, &data).unwrap();
    if let Some(seed_t) = p.seed {
        it.set(seed_t, r.clone()).unwrap();
    }
    it.forward();
    it.backward();
    let h = 1e-6;
    let mut checked = 0;
    for leaf in p.leaves() {
        let name = file_name(p.tensor(leaf));
        let analytic: Vec<f64> = match p.grads.iter().find(|(l, _)| *l == leaf) {
            // Edge tensors are stored in target order; the data is in PyG's order.
            Some((_, g)) => it.bound.to_pyg_order(p, *g, it.value(*g).unwrap()),
            None => vec![0.0; data.reals[&name].data.len()],
        };
        for (k, derived) in analytic.iter().enumerate() {
            let orig = data.reals[&name].data[k];
            data.reals.get_mut(&name).unwrap().data[k] = orig + h;
            let up = objective(p, &data, &r);
            data.reals.get_mut(&name).unwrap().data[k] = orig - h;
            let down = objective(p, &data, &r);
            data.reals.get_mut(&name).unwrap().data[k] = orig;
            let fd = (up - down) / (2.0 * h);
            let tol = 1e-6 * (1.0 + derived.abs());
            assert!(
                (fd - derived).abs() <= tol,
                "{file}: d/d {name}[{k}]: finite difference {fd:.10e} vs derived {derived:.10e}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{file}: only {checked} entries checked");
}

/// The `.gat` files of a folder of the repository, sorted.
fn gat_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gat"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .gat files in {dir}");
    paths
}

/// Every zoo model (`gatgrad::zoo::FILES`, subfolders such as `models/dgl/` included): a new
/// file in `models/` is checked without editing this test.
#[test]
fn zoo() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (k, file) in gatgrad::zoo::FILES.iter().enumerate() {
        check_path(&format!("{root}/{file}"), 1 + k as u64);
    }
}

/// Small fixtures, each added when it exposed a derivative bug.
#[test]
fn fixtures() {
    for (k, p) in gat_files("tests/fixtures/derivatives").iter().enumerate() {
        check_path(&p.display().to_string(), 100 + k as u64);
    }
}

/// PyG's GATv2Conv with `edge_dim` (`examples/pyg/gatv2_edge_attr.gat`), alone and in the
/// two-layer setup, where one input `edge_attr` feeds both layers through one self-loop fill.
#[test]
fn edge_attr_layer_and_its_two_layer_setup() {
    let path = format!(
        "{}/examples/pyg/gatv2_edge_attr.gat",
        env!("CARGO_MANIFEST_DIR")
    );
    check_path(&path, 200);
    let text = std::fs::read_to_string(&path).unwrap();
    let model = gatgrad::setup::two_layer_setup("gatv2_edge_attr.gat", &text).unwrap();
    let compiled = gatgrad::compile("gatv2_edge_attr_setup", &model).unwrap();
    check_program("gatv2_edge_attr two-layer setup", &compiled.program, 201);
}

/// The variants of `examples/variants/` (the same models spelled differently) and the PyG
/// configurations of `examples/pyg/`: a new file there is checked without editing this test.
#[test]
fn variants() {
    let files = [gat_files("examples/variants"), gat_files("examples/pyg")].concat();
    for (k, p) in files.iter().enumerate() {
        check_path(&p.display().to_string(), 300 + k as u64);
    }
}
