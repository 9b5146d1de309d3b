//! Generated code built on first use and cached, as PyTorch's `cpp_extension.load` and Triton
//! do for their kernels.
//!
//! A program gatgrad was not built with is trained by a helper executable: a small crate whose
//! `main.rs` (written by the caller) applies `#[derive_gradients]` to the program and calls into
//! gatgrad. The Python package gets a loadable library instead ([`CrateKind::Library`]: an
//! extension module per program, whose `lib.rs` does the same). [`Cache::get_or_build`] finds that executable under a [`Key`] — a hash of the
//! canonical program text, the gatgrad build, the compiler, the target and its flags — or builds
//! it with cargo and publishes it atomically. The shared pieces (gatgrad and its dependencies)
//! live in one cargo target folder for all programs, so only the generated crate itself is
//! compiled for a new program.
//!
//! ```no_run
//! use gatgrad_ondemand::{Cache, CrateTemplate, Request, Toolchain};
//! # fn main() -> Result<(), gatgrad_ondemand::Error> {
//! let toolchain = Toolchain::find()?;
//! let template = CrateTemplate::gatgrad()?;
//! let request = Request {
//!     what: "my_variant.gat",
//!     canonical_text: "layer ...",
//!     gat_files: &[("model.gat", "layer ...")],
//!     main_rs: "fn main() {}",
//!     template: &template,
//! };
//! let entry = Cache::from_env()?.get_or_build(&request, &toolchain, &mut |event| {
//!     eprintln!("{event:?}");
//! })?;
//! let status = entry.command().status();
//! # Ok(())
//! # }
//! ```

mod cache;
mod cargo;
mod error;
mod event;
mod key;
mod template;
mod toolchain;

pub use cache::{Cache, Entry, Request, CACHE_DIR_ENV, CACHE_TARGET_DIR_ENV};
pub use error::Error;
pub use event::Event;
pub use key::{text_id, Key, KeyInputs, GATGRAD_BUILD};
pub use template::{source_tree, CrateKind, CrateTemplate};
pub use toolchain::{Toolchain, ToolchainEnv};
