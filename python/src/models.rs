//! The programs a library of this crate runs, as a table of [`Compiled`] entries: in the
//! extension `gatgrad._gatgrad` the PyG configurations of `GATv2Conv` and `GATConv` from the zoo
//! (`models/`) and from `examples/` (edge features, no bias, a residual connection, GAT without
//! self loops), each under a short name ([`BUILT_IN`]); in an extension module built on first
//! use, the one program of a user's file ([`set_programs`]).

use gatgrad::codegen::ir::{Program, Role};
use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::kernels::Float;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// A program whose generated code this library holds: its name, the file it was generated
/// from, and its generated forward and backward in both precisions (function pointers, so the
/// table is data and one piece of code runs any program; an extension module built on first
/// use for a user's file holds a table of one).
pub struct Compiled {
    /// Its name, the one the Python side passes.
    pub name: &'static str,
    /// The file it was generated from, for messages.
    pub file: &'static str,
    /// The `.gat` source.
    pub source: &'static str,
    /// The number of tensor slots of its generated code.
    pub slots: usize,
    /// The program, as the compiler made it at build time.
    pub program: fn() -> Program,
    forward32: fn(&mut Session<f32>),
    forward64: fn(&mut Session<f64>),
    backward32: fn(&mut Session<f32>, Vec<f32>),
    backward64: fn(&mut Session<f64>, Vec<f64>),
}

fn forward_of<G: Generated, T: Float>(s: &mut Session<T>) {
    s.forward::<G>();
}

fn backward_of<G: Generated, T: Float>(s: &mut Session<T>, seed: Vec<T>) {
    s.set_seed(seed);
    s.backward::<G>(None);
}

impl Compiled {
    /// The generated program `G`, called `name`, from `file`.
    pub const fn of<G: Generated>(name: &'static str, file: &'static str) -> Compiled {
        Compiled {
            name,
            file,
            source: G::SOURCE,
            slots: G::NUM_TENSORS,
            program: G::program,
            forward32: forward_of::<G, f32>,
            forward64: forward_of::<G, f64>,
            backward32: backward_of::<G, f32>,
            backward64: backward_of::<G, f64>,
        }
    }
}

/// Running a [`Compiled`] program's generated code in precision `T`.
pub trait Runs<T: Float> {
    /// The generated forward.
    fn forward(&self, s: &mut Session<T>);
    /// The generated backward from the seed `∂out`.
    fn backward(&self, s: &mut Session<T>, seed: Vec<T>);
}

impl Runs<f32> for Compiled {
    fn forward(&self, s: &mut Session<f32>) {
        (self.forward32)(s)
    }
    fn backward(&self, s: &mut Session<f32>, seed: Vec<f32>) {
        (self.backward32)(s, seed)
    }
}

impl Runs<f64> for Compiled {
    fn forward(&self, s: &mut Session<f64>) {
        (self.forward64)(s)
    }
    fn backward(&self, s: &mut Session<f64>, seed: Vec<f64>) {
        (self.backward64)(s, seed)
    }
}

/// The programs compiled into the extension `gatgrad._gatgrad` (feature `built-in`, on by
/// default); none in the rlib that extension modules built on first use link, which only need
/// this crate's code that runs programs: without their generated code it compiles in a fraction
/// of the time.
#[cfg(feature = "built-in")]
pub use built_in::BUILT_IN;

/// No program is compiled in without the feature `built-in`.
#[cfg(not(feature = "built-in"))]
pub static BUILT_IN: &[Compiled] = &[];

#[cfg(feature = "built-in")]
mod built_in {
    use super::Compiled;
    use gatgrad::derive_gradients;
    use gatgrad::zoo::*;

    /// `examples/pyg/gatv2_edge_attr.gat`: `GATv2Conv(edge_dim=D)`.
    #[derive_gradients(file = "../examples/pyg/gatv2_edge_attr.gat")]
    pub struct GatV2EdgeAttr;

    /// `examples/pyg/gatv2_no_bias.gat`: `GATv2Conv(bias=False)`.
    #[derive_gradients(file = "../examples/pyg/gatv2_no_bias.gat")]
    pub struct GatV2NoBias;

    /// `examples/variants/gatv2_residual_split.gat`: `GATv2Conv(residual=True)`.
    #[derive_gradients(file = "../examples/variants/gatv2_residual_split.gat")]
    pub struct GatV2Residual;

    /// `examples/pyg/gat_no_loops.gat`: `GATConv(add_self_loops=False)`.
    #[derive_gradients(file = "../examples/pyg/gat_no_loops.gat")]
    pub struct GatNoLoops;

    /// The programs compiled into the extension `gatgrad._gatgrad`.
    pub static BUILT_IN: &[Compiled] = &[
        Compiled::of::<GatV2>("gatv2", "models/gatv2.gat"),
        Compiled::of::<GatV2Mean>("gatv2_mean", "models/gatv2_mean.gat"),
        Compiled::of::<GatV2Shared>("gatv2_shared", "models/gatv2_shared.gat"),
        Compiled::of::<GatV2NoLoops>("gatv2_no_loops", "models/gatv2_no_loops.gat"),
        Compiled::of::<GatV2EdgeAttr>("gatv2_edge_attr", "examples/pyg/gatv2_edge_attr.gat"),
        Compiled::of::<GatV2NoBias>("gatv2_no_bias", "examples/pyg/gatv2_no_bias.gat"),
        Compiled::of::<GatV2Residual>(
            "gatv2_residual",
            "examples/variants/gatv2_residual_split.gat",
        ),
        Compiled::of::<Gat>("gat", "models/gat.gat"),
        Compiled::of::<GatMean>("gat_mean", "models/gat_mean.gat"),
        Compiled::of::<GatNoLoops>("gat_no_loops", "examples/pyg/gat_no_loops.gat"),
    ];
}

static PROGRAMS: OnceLock<&'static [Compiled]> = OnceLock::new();

/// Makes `programs` the programs of this library (instead of [`BUILT_IN`]): what an extension
/// module built on first use does when it is imported. Only the first call has an effect.
pub fn set_programs(programs: &'static [Compiled]) {
    let _ = PROGRAMS.set(programs);
}

/// The programs this library runs: [`BUILT_IN`] in `gatgrad._gatgrad`, the one program of an
/// extension module built on first use.
pub fn programs() -> &'static [Compiled] {
    PROGRAMS.get().copied().unwrap_or(BUILT_IN)
}

/// The program called `name`, if this library holds it.
pub fn find(name: &str) -> Option<&'static Compiled> {
    programs().iter().find(|c| c.name == name)
}

/// The program of `name` (from its generated code, made at build time), once per process.
pub fn program(name: &str) -> Option<Program> {
    static CACHE: OnceLock<Mutex<HashMap<String, Program>>> = OnceLock::new();
    let compiled = find(name)?;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(name) {
        return Some(p.clone());
    }
    let p = (compiled.program)();
    cache.insert(name.to_string(), p.clone());
    Some(p)
}

/// The name of the program this library holds whose canonical text is `canonical`, if any.
pub fn by_canonical(canonical: &str) -> Option<&'static str> {
    static TEXTS: OnceLock<Vec<(&'static str, Option<String>)>> = OnceLock::new();
    TEXTS
        .get_or_init(|| {
            programs()
                .iter()
                .map(|c| (c.name, gatgrad::extra_model::canonical(c.source)))
                .collect()
        })
        .iter()
        .find(|(_, c)| c.as_deref() == Some(canonical))
        .map(|(name, _)| *name)
}

/// The dropout masks a program reads, by tensor name.
pub fn dropout_masks(p: &Program) -> Vec<String> {
    p.tensors
        .iter()
        .filter(|t| matches!(t.role, Role::Dropout { .. }))
        .map(|t| t.name.clone())
        .collect()
}
