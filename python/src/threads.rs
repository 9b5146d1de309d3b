//! Generated code runs on a rayon pool of the size the caller asks for (`torch.get_num_threads()`
//! on the Python side), one pool per size, made on first use. Results are the same bits for any
//! thread count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Runs `f` on a pool of `threads` threads (the global pool if one cannot be made).
pub fn install<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let threads = threads.max(1);
    let pool = {
        let mut pools = POOLS
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match pools.get(&threads) {
            Some(p) => Some(p.clone()),
            None => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
                .map(|p| pools.entry(threads).or_insert(Arc::new(p)).clone()),
        }
    };
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}
