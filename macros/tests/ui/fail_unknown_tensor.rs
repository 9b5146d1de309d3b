// A layer that reads a tensor nobody declared or defined.

#[gatgrad::derive_gradients(source = "
layer scale() {
    dims F;
    input x[n: node, f: F];
    out[n, f] = x[n, f] * weights[f];
    output out;
}
")]
pub struct Scale;

fn main() {}
