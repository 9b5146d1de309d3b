// `path` is not an argument of the attribute: it takes `file = ...` or `source = ...`.

#[gatgrad::derive_gradients(path = "models/gatv2.gat")]
pub struct GatV2;

fn main() {}
