//! The cache key: equal for equal inputs, different after a change of any one of them.

use gatgrad_ondemand::{Key, KeyInputs};

fn base<'a>(flags: &'a [String]) -> KeyInputs<'a> {
    KeyInputs {
        canonical_text: "layer l { dims F; input x[n: node, f: F]; output x; }",
        gatgrad_version: "0.1.0+0123456789abcdef",
        rustc_version: "rustc 1.95.0 (59807616e 2026-04-14)\nhost: x86_64-unknown-linux-gnu\n",
        target: "x86_64-unknown-linux-gnu",
        target_cfg: "target_arch=\"x86_64\"\ntarget_feature=\"avx2\"\n",
        rustflags: flags,
        crate_text: "[dependencies]\ngatgrad = { path = \"/src\" }\n[main.rs]\nfn main() {}\n",
    }
}

#[test]
fn equal_inputs_give_equal_keys() {
    let flags = vec!["-C".to_string(), "target-cpu=native".to_string()];
    let again = flags.clone();
    let key = Key::of(&base(&flags));
    assert_eq!(key, Key::of(&base(&again)));
    assert_eq!(key.as_str().len(), 32);
    assert!(key.as_str().chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn every_input_changes_the_key() {
    let flags = vec!["-C".to_string(), "target-cpu=native".to_string()];
    let other_flags = vec!["-C".to_string(), "target-cpu=x86-64".to_string()];
    let joined_flags = vec!["-C target-cpu=native".to_string()];
    let no_flags: Vec<String> = Vec::new();
    let key = Key::of(&base(&flags));
    let changes: Vec<(&str, KeyInputs)> = vec![
        (
            "an equation",
            KeyInputs {
                canonical_text: "layer l { dims F; input x[n: node, f: F]; output y; }",
                ..base(&flags)
            },
        ),
        (
            "the gatgrad version",
            KeyInputs {
                gatgrad_version: "0.1.0+fedcba9876543210",
                ..base(&flags)
            },
        ),
        (
            "the compiler",
            KeyInputs {
                rustc_version: "rustc 1.96.0\nhost: x86_64-unknown-linux-gnu\n",
                ..base(&flags)
            },
        ),
        (
            "the target triple",
            KeyInputs {
                target: "aarch64-unknown-linux-gnu",
                ..base(&flags)
            },
        ),
        (
            "the target CPU",
            KeyInputs {
                target_cfg: "target_arch=\"x86_64\"\ntarget_feature=\"sse2\"\n",
                ..base(&flags)
            },
        ),
        ("a flag", base(&other_flags)),
        ("the flags' split", base(&joined_flags)),
        ("no flags", base(&no_flags)),
        (
            "the crate around the program",
            KeyInputs {
                crate_text: "[dependencies]\n[main.rs]\nfn main() {}\n",
                ..base(&flags)
            },
        ),
        (
            "text moved between two fields",
            KeyInputs {
                canonical_text: "layer l { dims F; input x[n: node, f: F]; output x; }0.1.0",
                gatgrad_version: "+0123456789abcdef",
                ..base(&flags)
            },
        ),
    ];
    for (what, inputs) in changes {
        assert_ne!(Key::of(&inputs), key, "changing {what} kept the key");
    }
}
