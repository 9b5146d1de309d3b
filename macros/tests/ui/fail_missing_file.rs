// `file = ...` names a file that does not exist (relative to the crate root).

#[gatgrad::derive_gradients(file = "models/no_such_layer.gat")]
pub struct NoSuchLayer;

fn main() {}
