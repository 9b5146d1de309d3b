//! Adam with L2 weight decay added to the gradient (as `torch.optim.Adam`), on f32 parameters
//! with f64 arithmetic. Each element's update depends only on that element, and the statistics
//! are summed over fixed chunks in order, so results are the same for any thread count.

use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 4096;

/// Optimiser state for a list of parameter tensors.
pub struct Adam {
    lr: f64,
    weight_decay: f64,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

/// What one step saw and did to one tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// L2 norm of the loss gradient (without weight decay).
    pub grad_norm: f64,
    /// L2 norm of the parameter before the step.
    pub param_norm: f64,
    /// L2 norm of the change of the parameter.
    pub step_norm: f64,
    /// Gradient entries exactly zero.
    pub zeros: usize,
}

const B1: f64 = 0.9;
const B2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl Adam {
    /// State for tensors of the given sizes.
    pub fn new(lr: f64, weight_decay: f64, sizes: impl IntoIterator<Item = usize>) -> Self {
        let m: Vec<Vec<f32>> = sizes.into_iter().map(|n| vec![0.0; n]).collect();
        Adam {
            lr,
            weight_decay,
            v: m.clone(),
            m,
        }
    }

    /// Step `t` (1-based) of tensor `k`: updates `theta` from the gradient `g`.
    pub fn step(&mut self, k: usize, t: i32, theta: &mut [f32], g: &[f32]) -> StepStats {
        let (lr, wd) = (self.lr, self.weight_decay);
        let c1 = 1.0 - B1.powi(t);
        let c2 = 1.0 - B2.powi(t);
        let parts: Vec<[f64; 4]> = theta
            .par_chunks_mut(CHUNK)
            .zip(self.m[k].par_chunks_mut(CHUNK))
            .zip(self.v[k].par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .map(|(((theta, m), v), g)| {
                // The update first, element by element (so it vectorises), then the statistics,
                // summed in element order.
                let mut before = [0.0f32; CHUNK];
                let before = &mut before[..theta.len()];
                before.copy_from_slice(theta);
                for (((th, m), v), &gi) in theta.iter_mut().zip(m).zip(v).zip(g) {
                    let (old, gi) = (*th as f64, gi as f64);
                    let gd = gi + wd * old;
                    *m = (B1 * *m as f64 + (1.0 - B1) * gd) as f32;
                    *v = (B2 * *v as f64 + (1.0 - B2) * gd * gd) as f32;
                    let mh = *m as f64 / c1;
                    let vh = *v as f64 / c2;
                    *th = (old - lr * mh / (vh.sqrt() + EPS)) as f32;
                }
                let mut s = [0.0f64; 4];
                for ((&old, &new), &gi) in before.iter().zip(theta.iter()).zip(g) {
                    let (old, gi) = (old as f64, gi as f64);
                    s[0] += gi * gi;
                    s[1] += old * old;
                    s[2] += (new as f64 - old).powi(2);
                    s[3] += f64::from(u8::from(gi == 0.0));
                }
                s
            })
            .collect();
        let mut s = [0.0f64; 4];
        for p in parts {
            for (a, b) in s.iter_mut().zip(p) {
                *a += b;
            }
        }
        StepStats {
            grad_norm: s[0].sqrt(),
            param_norm: s[1].sqrt(),
            step_norm: s[2].sqrt(),
            zeros: s[3] as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torch.optim.Adam's first step moves every weight by `lr` against the sign of its
    /// (decayed) gradient, whatever its size.
    #[test]
    fn first_step_moves_by_lr() {
        let mut adam = Adam::new(0.01, 0.0, [3]);
        let mut theta = vec![1.0f32, -2.0, 0.5];
        let s = adam.step(0, 1, &mut theta, &[4.0, -0.001, 0.0]);
        assert!((theta[0] - 0.99).abs() < 1e-6, "{theta:?}");
        assert!((theta[1] + 1.99).abs() < 1e-6, "{theta:?}");
        assert_eq!(theta[2], 0.5);
        assert_eq!(s.zeros, 1);
        assert!((s.grad_norm - (16.0f64 + 1e-6).sqrt()).abs() < 1e-9);
        assert!((s.param_norm - 5.25f64.sqrt()).abs() < 1e-12);
    }

    /// Weight decay is added to the gradient before the moments (L2, not AdamW).
    #[test]
    fn weight_decay_is_l2() {
        let mut adam = Adam::new(0.1, 0.5, [1]);
        let mut theta = vec![2.0f32];
        adam.step(0, 1, &mut theta, &[0.0]);
        // gradient 0 + 0.5 * 2 = 1 > 0: one step of lr downwards.
        assert!((theta[0] - 1.9).abs() < 1e-6, "{theta:?}");
    }

    #[test]
    fn same_bits_for_any_thread_count() {
        let n = 3 * CHUNK + 17;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut adam = Adam::new(0.005, 5e-4, [n]);
                let mut theta: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
                let mut stats = Vec::new();
                for t in 1..=3 {
                    stats.push(adam.step(0, t, &mut theta, &g));
                }
                (theta, stats)
            })
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
    }
}
