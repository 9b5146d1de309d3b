// A syntax error in an inline layer: a numeric index. The error points at the DSL line and column.

#[gatgrad::derive_gradients(source = "
layer first_feature() {
    dims F;
    input x[n: node, f: F];
    out[n] = x[n, 0];
    output out;
}
")]
pub struct FirstFeature;

fn main() {}
