//! `#[derive_gradients]`: the compile-time front door of gatgrad.
//!
//! This crate stays a thin shell: all generation lives in `gatgrad-codegen` so it can be unit-tested.
//! Code generation is the subject of the next milestone; until then this crate only reserves the name.
