//! The zoo models compiled into the crate through `#[derive_gradients]`: one struct per file of
//! `models/` (written by `build.rs`; `models/gatv2_two_layer.gat` is [`GatV2TwoLayer`]), and
//! [`for_each`] to visit every one of them, so tests cover a new model without being edited.

use crate::derive_gradients;
use crate::exec::Generated;

/// Something done with each zoo model in turn (see [`for_each`]).
pub trait Visitor {
    /// Called with the model's generated code and its file (`models/NAME.gat`).
    fn visit<M: Generated>(&mut self, file: &str);
}

include!(concat!(env!("OUT_DIR"), "/zoo.rs"));
