//! Compile-time behaviour of `#[derive_gradients]`: DSL errors become one `compile_error!` whose
//! message carries the DSL line, column and caret; bad attribute arguments and missing files are
//! reported on the attribute; a valid inline layer compiles and runs.
//!
//! Cases are `tests/ui/fail_*.rs` (must not compile; expected output in the `.stderr` next to
//! each) and `tests/ui/pass_*.rs` (must compile and run). Regenerate the expected messages with
//! `TRYBUILD=overwrite cargo test -p gatgrad-macros --test compile_fail`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail_*.rs");
    t.pass("tests/ui/pass_*.rs");
}
