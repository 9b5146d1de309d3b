//! A slice written from several tasks at provably disjoint positions.

/// A slice written from several tasks at provably disjoint positions.
pub struct SharedSlice<'a, T> {
    pub(super) ptr: *mut T,
    pub(super) len: usize,
    _life: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: callers of `write` guarantee that no two tasks write the same index.
unsafe impl<T: Send> Send for SharedSlice<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedSlice<'_, T> {}

impl<'a, T> SharedSlice<'a, T> {
    /// Wraps a slice.
    pub fn new(s: &'a mut [T]) -> Self {
        SharedSlice {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _life: std::marker::PhantomData,
        }
    }
    /// Writes position `k`.
    ///
    /// # Safety
    /// No other task may read or write `k` concurrently.
    pub unsafe fn write(&self, k: usize, v: T) {
        assert!(k < self.len);
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { *self.ptr.add(k) = v };
    }
}
impl<T> SharedSlice<'_, T> {
    /// The mutable sub-slice `[start, start + len)`.
    ///
    /// # Safety
    /// No other task may access any position of that range concurrently.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len);
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}
