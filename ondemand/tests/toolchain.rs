//! Finding the toolchain: the one-line message without one, and a toolchain that does not work.

use gatgrad_ondemand::{Error, Toolchain, ToolchainEnv};

#[test]
fn without_cargo_one_line_says_what_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let missing = tmp.path().join("no-such-cargo");
    let env = ToolchainEnv {
        cargo: Some(missing.clone().into()),
        path: Some(empty.into()),
        ..ToolchainEnv::default()
    };
    let err = Toolchain::find_in(&env).unwrap_err();
    assert!(matches!(err, Error::NoToolchain { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "no Rust toolchain found: `cargo` is not on PATH and CARGO={} does not exist; gatgrad \
             compiles generated code for a new program on first use, install Rust with rustup \
             (https://rustup.rs) and try again",
            missing.display()
        )
    );
    let unset = ToolchainEnv {
        path: None,
        ..ToolchainEnv::default()
    };
    assert!(Toolchain::find_in(&unset)
        .unwrap_err()
        .to_string()
        .starts_with("no Rust toolchain found: `cargo` is not on PATH; gatgrad compiles"));
}

#[cfg(unix)]
#[test]
fn a_compiler_that_fails_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for (name, script) in [
        ("cargo", "#!/bin/sh\nexit 0\n"),
        (
            "rustc",
            "#!/bin/sh\necho 'rustc: broken install' >&2\nexit 3\n",
        ),
    ] {
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let env = ToolchainEnv {
        path: Some(bin.clone().into()),
        ..ToolchainEnv::default()
    };
    let err = Toolchain::find_in(&env).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the Rust toolchain does not work: `{} -vV` failed (exit status: 3): rustc: broken \
             install; check the installation (`rustup show`) or unset CARGO/RUSTC",
            bin.join("rustc").display()
        )
    );
}

#[test]
fn the_real_toolchain_is_found_with_its_host() {
    let toolchain = Toolchain::find().unwrap();
    assert!(toolchain.rustc_version.starts_with("rustc "));
    assert!(toolchain
        .rustc_version
        .contains(&format!("host: {}", toolchain.host)));
    assert!(toolchain.target_cfg.contains("target_arch="));
}
