//! Tensor files as lists of named tensors, to change and write back.

use gatgrad::runtime::{TensorData, TensorFile};

/// Named tensors with their shapes, in file order.
pub type Tensors = Vec<(String, Vec<usize>, TensorData)>;

/// Every tensor of `file`, with its dtype preserved.
pub fn tensors_of(file: &TensorFile) -> Tensors {
    file.names()
        .into_iter()
        .map(|name| {
            let shape = file.shape(name).unwrap().to_vec();
            let data = file.data(name).unwrap();
            (name.to_string(), shape, data)
        })
        .collect()
}
