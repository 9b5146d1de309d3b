//! Output into a pipe nobody reads any more (`gatgrad plan m.gat | head -1`) ends the process the
//! way it ends other Unix tools, never with a panic.

use std::process::{Command, Stdio};

#[test]
fn output_into_a_closed_pipe_ends_without_a_panic() {
    // The read end is closed before the command starts, so its first write fails.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/gatv2_two_layer.gat");
    let out = Command::new(env!("CARGO_BIN_EXE_gatgrad"))
        .args(["plan", model])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(13),
            "ended by SIGPIPE: {:?}",
            out.status
        );
    }
}
