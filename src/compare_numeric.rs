//! `gatgrad diff --numeric`: the verdict of [`gatgrad_codegen::compare`] checked on random data.
//! Both programs run in the reference interpreter (f64, evaluation mode) on one small graph —
//! with a node that has no in-edges, a self loop and a repeated edge — and one upstream gradient;
//! every parameter and input paired by role gets the same values (the same row-major memory,
//! whatever each side's file shape), the others their own random values. The result is the
//! largest difference of the outputs and of each paired gradient.

use crate::interp::Interpreter;
use crate::shapes::file_name;
use crate::synth::{dim_sizes_by_role, random_data, DimRole};
use gatgrad_codegen::facts::facts;
use gatgrad_codegen::ir::{Program, TensorId};
use gatgrad_runtime::{Graph, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One compared quantity: the outputs, or a pair of gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct Deviation {
    /// `out`, or `∂lin_l.weight ↔ ∂fc_src.weight`.
    pub what: String,
    /// The largest absolute difference.
    pub max_abs: f64,
    /// `max_abs` over the largest magnitude of the first side (0 when both are 0).
    pub relative: f64,
}

/// 9 nodes; node 8 has out-edges only; 0→1 twice; a self loop at 2.
fn graph(seed: u64) -> Graph {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut src = vec![0, 0, 2, 8, 8];
    let mut dst = vec![1, 1, 2, 0, 3];
    for _ in 0..20 {
        src.push(rng.gen_range(0..9));
        dst.push(rng.gen_range(0..8));
    }
    Graph::new(9, src, dst).expect("a valid fixed graph")
}

/// Sizes by role, the same for both programs: 5 features, 2 heads, 3 channels, 3 classes.
fn sizes(p: &Program) -> Vec<usize> {
    dim_sizes_by_role(p, &facts(p), |r| match r {
        DimRole::Features => 5,
        DimRole::Heads { .. } => 2,
        DimRole::Channels { .. } => 3,
        DimRole::EdgeFeatures => 2,
        DimRole::Classes | DimRole::Other => 3,
    })
}

/// Runs `a` and `b` with the leaves `pairs` pairs given the same values (see the module
/// documentation); `Err` names what cannot be run or paired.
pub fn numeric_check(
    a: &Program,
    b: &Program,
    pairs: &[(TensorId, TensorId)],
    seed: u64,
) -> Result<Vec<Deviation>, String> {
    if a.loss.is_some() || b.loss.is_some() {
        return Err("--numeric compares layers; a model with a loss is not supported".into());
    }
    let g = graph(seed);
    let data_a = random_data(a, &g, &sizes(a), seed);
    let mut data_b = random_data(b, &g, &sizes(b), seed ^ 0x9e37);
    for (x, y) in pairs {
        let (na, nb) = (file_name(a.tensor(*x)), file_name(b.tensor(*y)));
        let (Some(va), Some(vb)) = (data_a.reals.get(&na), data_b.reals.get(&nb)) else {
            continue;
        };
        if va.data.len() != vb.data.len() {
            return Err(format!(
                "`{}` has {} values but its partner `{}` has {}: the layers cannot run on the \
                 same data",
                a.tensor(*x).external,
                va.data.len(),
                b.tensor(*y).external,
                vb.data.len()
            ));
        }
        let shape = vb.shape.clone();
        data_b.reals.insert(
            nb,
            Tensor {
                shape,
                data: va.data.clone(),
            },
        );
    }
    let mut ia: Interpreter<f64> = Interpreter::new(a, &data_a).map_err(|e| e.to_string())?;
    let mut ib: Interpreter<f64> = Interpreter::new(b, &data_b).map_err(|e| e.to_string())?;
    let len_a: usize = ia.shape(a.output).iter().product();
    let len_b: usize = ib.shape(b.output).iter().product();
    if len_a != len_b {
        return Err(format!(
            "the outputs have {len_a} and {len_b} values: the layers compute different shapes"
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let upstream: Vec<f64> = (0..len_a).map(|_| rng.gen_range(-1.0..1.0)).collect();
    for (it, p) in [(&mut ia, a), (&mut ib, b)] {
        if let Some(s) = p.seed {
            it.set(s, upstream.clone()).map_err(|e| e.to_string())?;
        }
        it.forward();
        it.backward();
    }
    let value = |it: &Interpreter<f64>, t: TensorId| it.value(t).unwrap_or_default().to_vec();
    let mut out = vec![deviation(
        "out".into(),
        &value(&ia, a.output),
        &value(&ib, b.output),
    )];
    let grad = |p: &Program, t: TensorId| p.grads.iter().find(|(l, _)| *l == t).map(|(_, g)| *g);
    for (x, y) in pairs {
        let (Some(gx), Some(gy)) = (grad(a, *x), grad(b, *y)) else {
            continue;
        };
        out.push(deviation(
            format!("∂{} ↔ ∂{}", a.tensor(*x).external, b.tensor(*y).external),
            &value(&ia, gx),
            &value(&ib, gy),
        ));
    }
    Ok(out)
}

fn deviation(what: String, a: &[f64], b: &[f64]) -> Deviation {
    let max_abs = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let relative = if max_abs == 0.0 {
        0.0
    } else {
        max_abs / scale.max(f64::MIN_POSITIVE)
    };
    Deviation {
        what,
        max_abs,
        relative,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatgrad_codegen::compare::compare;

    fn program(file: &str) -> Program {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        crate::compile_file(&path).unwrap().program
    }

    fn pairs(a: &Program, b: &Program) -> Vec<(TensorId, TensorId)> {
        compare(a, b).pairs.iter().map(|p| (p.a, p.b)).collect()
    }

    #[test]
    fn a_file_against_itself_differs_by_nothing() {
        let a = program("models/gatv2.gat");
        let rows = numeric_check(&a, &a, &pairs(&a, &a), 1).unwrap();
        assert!(rows.len() > 4);
        assert!(rows.iter().all(|r| r.max_abs == 0.0), "{rows:?}");
    }

    #[test]
    fn pyg_and_dgl_gatv2_differ_in_their_outputs() {
        let (a, b) = (program("models/gatv2.gat"), program("models/dgl/gatv2.gat"));
        let rows = numeric_check(&a, &b, &pairs(&a, &b), 2).unwrap();
        assert_eq!(rows[0].what, "out");
        assert!(rows[0].relative > 1e-3, "{rows:?}");
    }

    #[test]
    fn a_residual_shows_in_the_output_only_where_it_is_added() {
        // Same transforms and score; the residual changes `out` and `∂x`, not `∂attn`.
        let (a, b) = (
            program("models/dgl/gatv2.gat"),
            program("models/dgl/gatv2_residual.gat"),
        );
        let rows = numeric_check(&a, &b, &pairs(&a, &b), 3).unwrap();
        let row = |w: &str| rows.iter().find(|r| r.what == w).unwrap();
        assert!(row("out").relative > 1e-3);
        assert!(row("∂x ↔ ∂x").relative > 1e-3);
        assert!(row("∂attn ↔ ∂attn").relative < 1e-12, "{rows:?}");
    }
}
