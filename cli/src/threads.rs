//! The `--threads` of `train`, `diagnose` and `bench`.

use crate::args;
use crate::status::Failure;

/// A rayon pool with `threads` threads (default: all cores).
pub fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        pool = pool.num_threads(t);
    }
    pool.build().map_err(|e| {
        let (cores, _) = args::thread_limit();
        let asked = threads.map_or_else(|| format!("{cores}"), |t| t.to_string());
        Failure::input(format!(
            "cannot start {asked} threads ({e}); this machine has {cores} cores, try fewer --threads"
        ))
    })
}
