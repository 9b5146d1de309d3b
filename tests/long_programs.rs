//! Programs whose size, not nesting, is large: no stage may need stack in proportion to the number
//! of equations. A chain of 18 000 equations that each read `x` gives `∂x` one sum with a term per
//! equation; compiling, printing and interpreting it run on a thread with a 1 MiB stack (a walk that
//! recursed along that sum would need many times that), and the gradient matches its closed form.

use gatgrad::codegen::print::{Printer, Style};
use gatgrad::interp::Interpreter;
use gatgrad::runtime::Graph;

const EQUATIONS: usize = 18_000;
const STACK: usize = 1 << 20;

/// `t0 = 2x`, `t_k = t_{k-1} + x + 0.001 Σ_g x[n, g]`: so `out = (N+1) x + 0.001 (N-1) Σ_g x`.
fn chain(n: usize) -> String {
    let mut s = String::from("layer chain() {\n    dims F;\n    input x[n: node, f: F];\n");
    s.push_str("    t0[n, f] = 2 * x[n, f];\n");
    for k in 1..n {
        s.push_str(&format!(
            "    t{k}[n, f] = t{}[n, f] + x[n, f] + 0.001 * sum_g x[n, g];\n",
            k - 1
        ));
    }
    s.push_str(&format!("    output t{};\n}}\n", n - 1));
    s
}

fn run() {
    let c = gatgrad::compile("chain.gat", &chain(EQUATIONS)).expect("the chain compiles");
    let p = &c.program;
    let pr = Printer::new(p, Style::Text);
    let backward = pr.backward();
    let dx = backward.lines().last().expect("a derivative");
    assert!(dx.starts_with("∂x[n, f] = "), "{}", &dx[..40]);
    // A term per equation that reads `x` directly, and one for the per-node sum `Σ_g x[n, g]`:
    // written in every equation, it is stored once (`codegen::invariant`), and its adjoint is the
    // other long sum, with a term per equation that reads it.
    assert_eq!(dx.matches("∂t").count(), EQUATIONS + 1, "terms");
    assert!(
        dx.ends_with(" + ∂t1_sum[n] + 2 · ∂t0[n, f]"),
        "{}",
        &dx[dx.len() - 60..]
    );
    let dsum = backward
        .lines()
        .find(|l| l.starts_with("∂t1_sum[n] = "))
        .expect("the adjoint of the stored sum");
    assert_eq!(dsum.matches("Σ_f ∂t").count(), EQUATIONS - 1, "sum terms");
    assert!(Printer::new(p, Style::Latex)
        .backward()
        .contains("\\partial x"));

    let graph = Graph::new(4, vec![0, 1, 2], vec![1, 2, 3]).unwrap();
    let dims = gatgrad::synth::dim_sizes(p, |_| 3);
    let data = gatgrad::synth::random_data(p, &graph, &dims, 7);
    let mut it: Interpreter<f64> = Interpreter::new(p, &data).unwrap();
    let f = 3;
    let r: Vec<f64> = (0..4 * f).map(|k| 0.1 * k as f64 - 0.5).collect();
    it.set(p.seed.unwrap(), r.clone()).unwrap();
    it.forward();
    it.backward();
    let x = &data.reals["x"].data;
    let (n1, nm1) = ((EQUATIONS + 1) as f64, (EQUATIONS - 1) as f64);
    let out = it.value(p.output).unwrap();
    let grad = it.value(p.grads[0].1).unwrap();
    for node in 0..4 {
        let row = node * f..(node + 1) * f;
        let (sx, sr): (f64, f64) = (x[row.clone()].iter().sum(), r[row.clone()].iter().sum());
        for k in row {
            let want_out = n1 * x[k] + 0.001 * nm1 * sx;
            let want_grad = n1 * r[k] + 0.001 * nm1 * sr;
            assert!(
                (out[k] - want_out).abs() <= 1e-9 * want_out.abs().max(1.0),
                "out[{k}]"
            );
            assert!(
                (grad[k] - want_grad).abs() <= 1e-9 * want_grad.abs().max(1.0),
                "grad[{k}]"
            );
        }
    }
}

#[test]
fn a_chain_of_18000_equations_compiles_prints_and_runs_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(run)
        .unwrap()
        .join()
        .expect("no stack overflow, right gradient");
}
