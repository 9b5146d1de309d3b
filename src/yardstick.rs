//! The yardstick of edge work: one sum aggregation `out[i, :] = Σ_{j → i} x[j, :]` over a graph at
//! a given width, with the project's own row loop ([`par_rows`]) — what PyG's scatter-add or a CSR
//! sparse × dense product does once per message pass. `gatgrad bench` times it on the graph the
//! layer runs on and reports the layer's time in passes of it: how far the layer is from the
//! floor that reading every edge's source row once sets. It runs as the layers' own loops do, so
//! that it is a floor and not a straw man: edges numbered in target order (sources read in
//! sequence, as [`Graph::sorted_by_target`] numbers them for a bound program) and the source rows
//! of the edge a few places ahead prefetched.

use gatgrad_runtime::kernels::{par_rows, Float};
use gatgrad_runtime::prefetch::{prefetch_row, DISTANCE};
use gatgrad_runtime::Graph;
use std::time::Instant;

/// The median seconds of one sum aggregation over `g` at `width` (in `T`), over `reps` timed
/// runs after one warm-up. Refuses (before allocating) if the two `[N, width]` buffers do not
/// fit in memory.
pub fn aggregation_seconds<T: Float>(g: &Graph, width: usize, reps: usize) -> Result<f64, String> {
    let n = g.num_nodes();
    let len = n
        .checked_mul(width)
        .ok_or_else(|| format!("the yardstick's [{n}, {width}] rows overflow"))?;
    let bytes = (len as u128) * 2 * std::mem::size_of::<T>() as u128;
    gatgrad_runtime::memory::reserve("the aggregation yardstick", bytes)
        .map_err(|e| e.to_string())?;
    let sorted;
    let g = if g.in_edges_in_order() {
        g
    } else {
        sorted = g.sorted_by_target().0;
        &sorted
    };
    let x: Vec<T> = (0..len)
        .map(|k| T::of(((k % 13) as f64 - 6.0) / 8.0))
        .collect();
    let mut out = vec![T::of(0.0); len];
    let mut times = Vec::with_capacity(reps);
    for rep in 0..reps + 1 {
        let start = Instant::now();
        aggregate(g, &x, &mut out, width);
        if rep > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    std::hint::black_box(&out);
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// `out[i, :] = Σ_{e → i} x[src(e), :]`, in-edges in stored order, prefetching the source row of
/// the edge [`DISTANCE`] places ahead in the CSR index.
pub fn aggregate<T: Float>(g: &Graph, x: &[T], out: &mut [T], width: usize) {
    let (ptr, list) = g.in_csr();
    let src = g.sources();
    par_rows(out, width, |i, row| {
        row.fill(T::of(0.0));
        for k in ptr[i]..ptr[i + 1] {
            if let Some(&ahead) = list.get(k + DISTANCE) {
                prefetch_row(x, src[ahead as usize] as usize * width, width);
            }
            let j = src[list[k] as usize] as usize;
            for (o, v) in row.iter_mut().zip(&x[j * width..(j + 1) * width]) {
                *o += *v;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregation_sums_every_in_neighbour_row() {
        // 0 → 2, 1 → 2, 2 → 0 (twice), nothing into 1.
        let g = Graph::new(3, vec![0, 1, 2, 2], vec![2, 2, 0, 0]).unwrap();
        let x = [1.0, 10.0, 2.0, 20.0, 4.0, 40.0];
        let mut out = [f64::NAN; 6];
        aggregate(&g, &x, &mut out, 2);
        assert_eq!(out, [8.0, 80.0, 0.0, 0.0, 3.0, 30.0]);
        assert!(aggregation_seconds::<f32>(&g, 2, 1).unwrap() >= 0.0);
    }
}
