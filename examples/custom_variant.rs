//! A new attention variant in a few lines of DSL, with exact gradients generated at compile time.
//!
//! The layer below is GATv2 (PyG `GATv2Conv` parameter names, self loops added) with two changes:
//! the score nonlinearity is `tanh` instead of `leaky_relu`, and the scores are scaled by a learnable
//! temperature `tau`. Nothing else is needed: `#[derive_gradients]` parses the formulas, derives the
//! gradient of every parameter and of `x`, and generates specialised Rust for both passes.
//!
//! This example prints the derived equations, runs the generated forward and backward passes on a
//! random graph, and checks every gradient entry against central finite differences of the generated
//! forward pass. It exits with status 1 if any relative error exceeds 1e-6.
//!
//! ```text
//! cargo run --release --example custom_variant
//! ```

use gatgrad::codegen::ir::Program;
use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::random_graph;
use gatgrad::shapes::{file_name, Data};
use gatgrad::synth::{dim_sizes, random_data};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// GATv2 with a tanh score and a learnable temperature.
#[gatgrad::derive_gradients(source = r#"
layer gatv2_tanh_tau() {
    dims F, H, C;
    self_loops;

    input x[n: node, f: F];
    param W_l[h: H, c: C, f: F] as "lin_l.weight" [H*C, F];
    param b_l[h: H, c: C]       as "lin_l.bias"   [H*C];
    param W_r[h: H, c: C, f: F] as "lin_r.weight" [H*C, F];
    param b_r[h: H, c: C]       as "lin_r.bias"   [H*C];
    param att[h: H, c: C]       as "att"          [1, H, C];
    param bias[h: H, c: C]      as "bias"         [H*C];
    param tau                   as "tau"          [1];

    xl[n, h, c] = sum_f W_l[h, c, f] * x[n, f] + b_l[h, c];
    xr[n, h, c] = sum_f W_r[h, c, f] * x[n, f] + b_r[h, c];

    z[i <- j, h, c] = xl[j, h, c] + xr[i, h, c];
    s[i <- j, h]    = tau * sum_c att[h, c] * tanh(z[i <- j, h, c]);
    a[i <- j, h]    = softmax_j s[i <- j, h];

    out[i, h, c] = sum_{j -> i} a[i <- j, h] * xl[j, h, c] + bias[h, c];

    output out;
    attention a;
}
"#)]
pub struct GatV2TanhTau;

/// Largest relative error allowed. The relative error of a gradient entry is
/// `|fd - derived| / max(1, |derived|)`: the floor keeps entries that are (nearly) zero from turning
/// rounding noise into huge relative errors.
const TOLERANCE: f64 = 1e-6;
/// Step of the central differences.
const STEP: f64 = 1e-6;

/// The scalar whose gradient is checked: `Σ out · R`, computed by the *generated* forward pass.
fn objective(p: &Program, data: &Data, r: &[f64]) -> f64 {
    let mut s =
        Session::<f64>::new(p.clone(), data, GatV2TanhTau::NUM_TENSORS).expect("data binds");
    s.forward::<GatV2TanhTau>();
    s.value(p.output).iter().zip(r).map(|(o, r)| o * r).sum()
}

fn main() {
    println!("== Derived equations (forward, then derivatives) ==\n");
    println!("{}", GatV2TanhTau::EQUATIONS);

    // Random data: 30 nodes, 120 edges (self loops and multi-edges included), F = 4, H = 2, C = 3.
    let p = GatV2TanhTau::program();
    let graph = random_graph(30, 120, 7);
    let dims = dim_sizes(&p, |name| match name {
        "H" => 2,
        "C" => 3,
        _ => 4,
    });
    let mut data = random_data(&p, &graph, &dims, 7);

    // Forward, then backward with the seed `∂out = R` for a fixed random R: the gradients are
    // then those of `Σ out · R`.
    let mut s =
        Session::<f64>::new(p.clone(), &data, GatV2TanhTau::NUM_TENSORS).expect("data binds");
    s.forward::<GatV2TanhTau>();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let r: Vec<f64> = (0..s.value(p.output).len())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    s.backward::<GatV2TanhTau>(Some(&r));

    println!(
        "== Gradient check: {} nodes, {} edges (before self loops) ==\n",
        graph.num_nodes(),
        graph.num_edges()
    );
    println!("{:<20} {:>8} {:>14}", "tensor", "entries", "max rel. error");
    let mut worst = 0.0f64;
    for leaf in p.leaves() {
        // The data key of the leaf (`x`, `param.lin_l.weight`, ...) and its derived gradient (a leaf
        // the output does not depend on has none: its gradient is zero).
        let key = file_name(p.tensor(leaf));
        let derived = match p.grads.iter().find(|(l, _)| *l == leaf) {
            Some(&(_, grad)) => s.value(grad).to_vec(),
            None => vec![0.0; data.reals[&key].data.len()],
        };
        let mut max_rel = 0.0f64;
        for (k, &d) in derived.iter().enumerate() {
            let orig = data.reals[&key].data[k];
            data.reals.get_mut(&key).unwrap().data[k] = orig + STEP;
            let up = objective(&p, &data, &r);
            data.reals.get_mut(&key).unwrap().data[k] = orig - STEP;
            let down = objective(&p, &data, &r);
            data.reals.get_mut(&key).unwrap().data[k] = orig;
            let fd = (up - down) / (2.0 * STEP);
            max_rel = max_rel.max((fd - d).abs() / d.abs().max(1.0));
        }
        println!("{key:<20} {:>8} {max_rel:>14.3e}", derived.len());
        worst = worst.max(max_rel);
    }

    if worst > TOLERANCE {
        eprintln!("\nFAILED: max relative error {worst:.3e} exceeds {TOLERANCE:e}");
        std::process::exit(1);
    }
    println!(
        "\nOK: every gradient entry matches finite differences (max relative error {worst:.3e})"
    );
}
