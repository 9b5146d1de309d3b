// `krate` names the gatgrad crate as a path; text that is not a path is refused on the argument.

#[gatgrad::derive_gradients(file = "models/gatv2.gat", krate = "gat grad")]
pub struct GatV2;

fn main() {}
