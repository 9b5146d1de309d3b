//! Drawing a parameter's initial values for training: the scheme its declaration states
//! (`init xavier_normal(gain = relu)`, see [`gatgrad_codegen::init`]) or, without one, gatgrad's
//! default, PyG's: Glorot-uniform, zero for a bias, 1 for a one-element parameter.

use gatgrad_codegen::init::Init;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The initial values of a parameter of file shape `shape` (PyG's or DGL's, the shape fans are
/// computed from). `bias` says whether the default treats it as a bias (see
/// [`gatgrad_codegen::facts::Facts::biases`]); a declared scheme ignores it.
pub fn initial_values(
    init: Option<Init>,
    shape: &[usize],
    bias: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let len: usize = shape.iter().product();
    let Some(init) = init else {
        return default_values(shape, bias, rng);
    };
    match init {
        Init::Glorot => glorot(shape, rng),
        Init::Zeros => vec![0.0; len],
        Init::Ones => vec![1.0; len],
        Init::XavierUniform { gain } => {
            let (fan_in, fan_out) = Init::torch_fans(shape);
            let bound = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
            (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
        }
        Init::XavierNormal { gain } => {
            let (fan_in, fan_out) = Init::torch_fans(shape);
            let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
            let mut normal = Normal::default();
            (0..len).map(|_| std * normal.sample(rng)).collect()
        }
    }
}

/// gatgrad's default: biases zero, a one-element parameter 1, Glorot-uniform otherwise.
fn default_values(shape: &[usize], bias: bool, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let len: usize = shape.iter().product();
    if bias {
        return vec![0.0; len];
    }
    if len == 1 {
        return vec![1.0];
    }
    glorot(shape, rng)
}

/// Glorot-uniform as PyG (`a = sqrt(6 / (fan_in + fan_out))` over the last two axes of the PyG
/// shape).
fn glorot(shape: &[usize], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let len: usize = shape.iter().product();
    let (a, b) = match shape {
        [.., a, b] => (*a, *b),
        [a] => (1, *a),
        [] => (1, 1),
    };
    let bound = (6.0 / (a + b) as f64).sqrt();
    (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
}

/// Standard normal samples by the Box–Muller transform, two per pair of uniforms.
#[derive(Default)]
struct Normal {
    spare: Option<f64>,
}

impl Normal {
    fn sample(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // `1 - u` lies in (0, 1], so the logarithm is finite.
        let u1: f64 = 1.0 - rng.gen::<f64>();
        let u2: f64 = rng.gen::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn moments(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn xavier_normal_has_pytorchs_standard_deviation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // DGL's fc_src.weight of 1433 inputs and 8 × 8 outputs at ReLU gain.
        let gain = 2f64.sqrt();
        let v = initial_values(
            Some(Init::XavierNormal { gain }),
            &[64, 1433],
            false,
            &mut rng,
        );
        let want = gain * (2.0f64 / (1433.0 + 64.0)).sqrt();
        let (mean, std) = moments(&v);
        assert!(mean.abs() < 0.01 * want, "mean {mean}");
        assert!((std / want - 1.0).abs() < 0.01, "std {std} vs {want}");
    }

    #[test]
    fn xavier_uniform_stays_in_its_bound() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let v = initial_values(
            Some(Init::XavierUniform { gain: 2.0 }),
            &[1, 2, 4],
            false,
            &mut rng,
        );
        // fan_in 8, fan_out 4.
        let bound = 2.0 * (6.0f64 / 12.0).sqrt();
        assert!(v.iter().all(|x| x.abs() <= bound));
        assert!(v.iter().any(|x| x.abs() > bound / 2.0));
    }

    #[test]
    fn declared_schemes_override_the_bias_rule() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            initial_values(Some(Init::Ones), &[3], true, &mut rng),
            vec![1.0; 3]
        );
        assert_eq!(
            initial_values(Some(Init::Zeros), &[2, 2], false, &mut rng),
            vec![0.0; 4]
        );
        assert_eq!(initial_values(None, &[3], true, &mut rng), vec![0.0; 3]);
        assert_eq!(initial_values(None, &[1], false, &mut rng), vec![1.0]);
    }

    #[test]
    fn the_default_is_glorot_and_draws_the_same_numbers() {
        let draw = |init| {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            initial_values(init, &[8, 5], false, &mut rng)
        };
        assert_eq!(draw(None), draw(Some(Init::Glorot)));
        let bound = (6.0f64 / 13.0).sqrt();
        assert!(draw(None).iter().all(|x| x.abs() < bound));
    }
}
