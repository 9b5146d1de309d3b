//! The offline-first build: cargo runs `--offline`, and only when the local registry lacks a
//! crate goes online (with an event saying so). A stand-in cargo plays the registry's part, so
//! the test needs no network: offline it fails as cargo does without a crate, online it either
//! "builds" a stub executable or fails to download.

#![cfg(unix)]

use gatgrad_ondemand::{Cache, CrateTemplate, Error, Event, Request, Toolchain};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A stand-in for cargo: `--offline` fails like a resolution against an empty registry; online
/// it builds a stub when `ONLINE_WORKS` is `yes`, else fails to download.
const FAKE_CARGO: &str = r#"#!/bin/sh
for a in "$@"; do
  if [ "$a" = --offline ]; then
    echo 'error: no matching package named `rand` found' >&2
    echo 'note: offline mode (via `--offline`) can sometimes cause surprising resolution failures' >&2
    exit 101
  fi
done
if [ "$ONLINE_WORKS" != yes ]; then
  echo 'error: failed to download from `https://index.example/rand`' >&2
  exit 101
fi
while [ $# -gt 0 ]; do [ "$1" = --manifest-path ] && manifest="$2"; shift; done
name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
echo "  Downloaded rand v0.8.5" >&2
echo "   Compiling $name v0.0.0" >&2
mkdir -p "$CARGO_TARGET_DIR/release"
printf '#!/bin/sh\necho stub built online\n' > "$CARGO_TARGET_DIR/release/$name"
chmod +x "$CARGO_TARGET_DIR/release/$name"
"#;

fn fake_toolchain(dir: &Path, online_works: bool) -> Toolchain {
    let script = FAKE_CARGO.replace("\"$ONLINE_WORKS\"", if online_works { "yes" } else { "no" });
    let cargo: PathBuf = dir.join("cargo");
    std::fs::write(&cargo, script).unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    Toolchain {
        cargo,
        ..Toolchain::find().unwrap()
    }
}

fn request(template: &CrateTemplate) -> Request<'_> {
    Request {
        what: "needs_rand.gat",
        canonical_text: "layer needs_rand {}",
        gat_files: &[("model.gat", "layer needs_rand {}")],
        main_rs: "fn main() {}\n",
        template,
    }
}

#[test]
fn a_crate_missing_offline_is_downloaded_and_the_build_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let toolchain = fake_toolchain(tmp.path(), true);
    let cache = Cache::at(tmp.path().join("cache"));
    let template = CrateTemplate::standalone("rand = \"0.8\"\n");
    let mut events = Vec::new();
    let entry = cache
        .get_or_build(&request(&template), &toolchain, &mut |e| events.push(e))
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Compiling { .. } => "compiling",
            Event::Downloading => "downloading",
            Event::Cargo { line } if line.starts_with("Downloaded") => "downloaded",
            Event::Cargo { .. } => "cargo",
            Event::Raced => "raced",
            Event::Done { .. } => "done",
        })
        .collect();
    assert_eq!(
        kinds,
        ["compiling", "downloading", "downloaded", "cargo", "done"]
    );
    let out = entry.command().output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "stub built online\n");
    let log = std::fs::read_to_string(entry.dir.join("build.log")).unwrap();
    assert!(
        log.contains("--offline"),
        "both attempts are logged:\n{log}"
    );
}

#[test]
fn a_failed_download_is_not_called_a_gatgrad_bug() {
    let tmp = tempfile::tempdir().unwrap();
    let toolchain = fake_toolchain(tmp.path(), false);
    let cache = Cache::at(tmp.path().join("cache"));
    let template = CrateTemplate::standalone("rand = \"0.8\"\n");
    let err = cache
        .get_or_build(&request(&template), &toolchain, &mut |_| {})
        .unwrap_err();
    let Error::Fetch { log } = &err else {
        panic!("expected a download failure, got {err}");
    };
    assert!(std::fs::read_to_string(log)
        .unwrap()
        .contains("error: failed to download"));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot download the crates generated code depends on (offline, and going online \
             failed); connect to the network once or run `cargo fetch` in the gatgrad source \
             tree; cargo log: {}",
            log.display()
        )
    );
}
