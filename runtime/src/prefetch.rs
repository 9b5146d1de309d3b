//! Software prefetch for loops that gather rows at random (the other endpoint of each edge in a
//! neighbourhood). Knowing the next edges, a loop asks for their rows a few iterations ahead, so
//! several cache misses are in flight at once instead of one at a time.

/// Edges ahead of the current one whose rows a neighbourhood loop prefetches.
pub const DISTANCE: usize = 4;

/// Hints that `data[start..start + len]` will be read soon. Never faults and never changes a
/// result: out-of-range requests are ignored, and on targets without a prefetch instruction it
/// does nothing.
#[inline(always)]
pub fn prefetch_row<T>(data: &[T], start: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = start.saturating_add(len).min(data.len());
        if start >= end {
            return;
        }
        let base = data[start..end].as_ptr() as *const i8;
        let bytes = (end - start) * std::mem::size_of::<T>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: a prefetch has no architectural effect; the address is inside `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (data, start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests past the end (which a loop makes near its last edges) must not panic.
    #[test]
    fn out_of_range_is_ignored() {
        let v = vec![1.0f32; 100];
        prefetch_row(&v, 90, 64);
        prefetch_row(&v, 200, 16);
        prefetch_row(&v, usize::MAX, 16);
        prefetch_row::<f32>(&[], 0, 16);
    }
}
