//! `gatgrad grad` on bad data: every problem must end with exit status 2, exactly one line on
//! stderr naming the tensor (or flag) concerned, no output file and never a panic. A `.gat` file
//! with errors ends with exit status 1.
//!
//! Each bad case file is built from a valid reference case by copying every tensor and changing
//! exactly one thing.

use gatgrad::runtime::{write_tensors, TensorData, TensorFile};
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::tensors::{tensors_of, Tensors};

const GATV2: &str = "models/gatv2.gat";
const TWO_LAYER: &str = "models/gatv2_two_layer.gat";
const BASIC: &str = "tests/reference/gatv2_basic.safetensors";
const TWO_LAYER_CASE: &str = "tests/reference/gatv2_two_layer.safetensors";

/// The repository (the CLI package's parent folder): models and reference vectors live there.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI package lies inside the repository")
        .to_path_buf()
}

/// A fresh, empty temporary directory for one test; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("gatgrad-cli-bad-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every tensor of a case file, with its dtype preserved.
fn load_all(case: &str) -> Tensors {
    tensors_of(&TensorFile::load(root().join(case)).expect("reference case loads"))
}

fn find<'a>(tensors: &'a mut Tensors, name: &str) -> &'a mut (String, Vec<usize>, TensorData) {
    tensors
        .iter_mut()
        .find(|t| t.0 == name)
        .unwrap_or_else(|| panic!("no tensor `{name}` in the case"))
}

fn remove(tensors: &mut Tensors, name: &str) {
    let before = tensors.len();
    tensors.retain(|t| t.0 != name);
    assert_eq!(tensors.len() + 1, before, "no tensor `{name}` to remove");
}

fn set_f64(tensors: &mut Tensors, name: &str, index: usize, value: f64) {
    match &mut find(tensors, name).2 {
        TensorData::F64(v) => v[index] = value,
        other => panic!("`{name}` is not F64: {other:?}"),
    }
}

fn set_i64(tensors: &mut Tensors, name: &str, index: usize, value: i64) {
    match &mut find(tensors, name).2 {
        TensorData::I64(v) => v[index] = value,
        other => panic!("`{name}` is not I64: {other:?}"),
    }
}

/// What one run of the binary did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    out_exists: bool,
    out: PathBuf,
    /// Keeps the temporary directory (and the output file) alive while the outcome is inspected.
    _dir: Option<TempDir>,
}

impl Outcome {
    fn describe(&self) -> String {
        format!(
            "exit status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `gatgrad grad MODEL --inputs INPUTS --out DIR/out.safetensors EXTRA...`.
fn grad(dir: TempDir, model: &Path, inputs: &Path, extra: &[&str]) -> Outcome {
    grad_limited(dir, model, inputs, extra, None)
}

/// As [`grad`]; with `vmem_kib`, under `ulimit -v` so that a runaway allocation fails fast
/// instead of exhausting the machine.
fn grad_limited(
    dir: TempDir,
    model: &Path,
    inputs: &Path,
    extra: &[&str],
    vmem_kib: Option<u64>,
) -> Outcome {
    let out = dir.path("out.safetensors");
    let _ = std::fs::remove_file(&out);
    let bin = env!("CARGO_BIN_EXE_gatgrad");
    let mut cmd = match vmem_kib {
        Some(kib) => {
            let mut c = Command::new("sh");
            // Few threads, so that thread stacks and malloc arenas stay far below the limit.
            c.env("RAYON_NUM_THREADS", "2");
            c.arg("-c")
                .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let output = cmd
        .arg("grad")
        .arg(model)
        .arg("--inputs")
        .arg(inputs)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .expect("run gatgrad");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out_exists: out.exists(),
        out,
        _dir: Some(dir),
    }
}

/// Writes `tensors` as the case file and runs `model` on it.
fn run_tensors(test: &str, model: &str, tensors: &Tensors, extra: &[&str]) -> Outcome {
    let dir = TempDir::new(test);
    let inputs = dir.path("case.safetensors");
    write_tensors(&inputs, tensors, None).expect("write the bad case");
    grad(dir, &root().join(model), &inputs, extra)
}

/// Writes raw bytes as the case file and runs `model` on it.
fn run_bytes(test: &str, model: &str, bytes: &[u8], extra: &[&str]) -> Outcome {
    let dir = TempDir::new(test);
    let inputs = dir.path("case.safetensors");
    std::fs::write(&inputs, bytes).expect("write the bad case");
    grad(dir, &root().join(model), &inputs, extra)
}

/// What is wrong with `o` as a rejection: `None` when it has exit status `code`, exactly one line
/// on stderr containing every one of `needles`, no output file and no panic.
fn rejection_problem(o: &Outcome, code: i32, needles: &[&str]) -> Option<String> {
    let why = o.describe();
    let lines: Vec<&str> = o.stderr.lines().collect();
    if o.stderr.contains("panicked") {
        Some(format!("gatgrad panicked:\n{why}"))
    } else if o.code != Some(code) {
        Some(format!("wrong exit status (want {code}):\n{why}"))
    } else if lines.len() != 1 {
        Some(format!("expected exactly one line on stderr:\n{why}"))
    } else if let Some(needle) = needles.iter().find(|n| !lines[0].contains(*n)) {
        Some(format!("stderr does not mention {needle}:\n{why}"))
    } else if o.out_exists {
        Some(format!(
            "an output file was written at {} despite the error:\n{why}",
            o.out.display()
        ))
    } else {
        None
    }
}

/// Exit status `code`, exactly one line on stderr containing every one of `needles`, no output
/// file, no panic.
fn assert_rejected(o: &Outcome, code: i32, needles: &[&str]) {
    if let Some(problem) = rejection_problem(o, code, needles) {
        panic!("{problem}");
    }
}

/// Runs every case and fails once, listing every case that went wrong (so that one failure does
/// not hide the others).
fn run_all<C>(cases: &[C], name: impl Fn(&C) -> &str, run: impl Fn(&C) -> Option<String>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| run(c).map(|problem| format!("case `{}`: {problem}", name(c))))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// The harness itself works.

#[test]
fn happy_path_basic_case_succeeds() {
    // Round-tripped through `load_all` + `write_tensors`, so the harness is proven too.
    let tensors = load_all(BASIC);
    let o = run_tensors("happy_basic", GATV2, &tensors, &[]);
    assert!(!o.stderr.contains("panicked"), "{}", o.describe());
    assert_eq!(o.code, Some(0), "{}", o.describe());
    assert!(o.out_exists, "no output file:\n{}", o.describe());
    let written = TensorFile::load(&o.out).expect("output is a valid tensor file");
    for name in ["out", "alpha", "alpha_edge_index", "grad.x", "grad.att"] {
        assert!(
            written.has(name),
            "output lacks `{name}`: {:?}",
            written.names()
        );
    }
}

#[test]
fn happy_path_two_layer_with_set_dim_and_f32() {
    let dir = TempDir::new("happy_two_layer");
    let o = grad(
        dir,
        &root().join(TWO_LAYER),
        &root().join(TWO_LAYER_CASE),
        &[
            "--set",
            "dropout=0.0",
            "--dim",
            "conv2.H=1",
            "--dtype",
            "f32",
        ],
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.describe());
    assert_eq!(o.code, Some(0), "{}", o.describe());
    assert!(o.out_exists, "no output file:\n{}", o.describe());
    let written = TensorFile::load(&o.out).expect("output is a valid tensor file");
    assert!(written.has("loss"), "{:?}", written.names());
}

// ---------------------------------------------------------------------------------------------
// One tensor changed: the message names it.

/// The reference case a bad case is made from.
#[derive(Clone, Copy)]
enum Base {
    /// `gatv2_basic` with `models/gatv2.gat` (7 nodes, 11 edges, H = 2, C = 3).
    Basic,
    /// `gatv2_two_layer` with `models/gatv2_two_layer.gat` (12 nodes, 3 classes).
    TwoLayer,
}

impl Base {
    fn model_and_case(self) -> (&'static str, &'static str) {
        match self {
            Base::Basic => (GATV2, BASIC),
            Base::TwoLayer => (TWO_LAYER, TWO_LAYER_CASE),
        }
    }
}

/// A reference case with one tensor changed, and the tensor the one-line message must name.
struct TensorEdit {
    name: &'static str,
    base: Base,
    edit: fn(&mut Tensors),
    names: &'static str,
    extra: &'static [&'static str],
}

const fn edit(
    name: &'static str,
    base: Base,
    names: &'static str,
    edit: fn(&mut Tensors),
) -> TensorEdit {
    TensorEdit {
        name,
        base,
        edit,
        names,
        extra: &[],
    }
}

fn f64_to_f32(data: &TensorData) -> Vec<f32> {
    match data {
        TensorData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        other => panic!("not F64: {other:?}"),
    }
}

fn ints_to_f64(data: &TensorData) -> TensorData {
    match data {
        TensorData::I64(v) => TensorData::F64(v.iter().map(|&i| i as f64).collect()),
        other => panic!("not I64: {other:?}"),
    }
}

const TENSOR_EDITS: &[TensorEdit] = &[
    // Missing tensors.
    edit("missing_param", Base::Basic, "param.att", |t| {
        remove(t, "param.att")
    }),
    edit("missing_x", Base::Basic, "x", |t| remove(t, "x")),
    edit("missing_edge_index", Base::Basic, "edge_index", |t| {
        remove(t, "edge_index")
    }),
    edit("missing_grad_out", Base::Basic, "grad_out", |t| {
        remove(t, "grad_out")
    }),
    edit("missing_labels", Base::TwoLayer, "y", |t| remove(t, "y")),
    edit("missing_train_mask", Base::TwoLayer, "train_mask", |t| {
        remove(t, "train_mask")
    }),
    // Wrong shapes. [6, 5] -> [5, 6]: same element count, transposed.
    edit(
        "wrong_shape_weight",
        Base::Basic,
        "param.lin_l.weight",
        |t| find(t, "param.lin_l.weight").1 = vec![5, 6],
    ),
    edit("wrong_rank_att", Base::Basic, "param.att", |t| {
        find(t, "param.att").1 = vec![6]
    }),
    // [6] -> [5]: H*C no longer matches.
    edit("wrong_shape_bias", Base::Basic, "param.bias", |t| {
        *find(t, "param.bias") = ("param.bias".into(), vec![5], TensorData::F64(vec![0.1; 5]))
    }),
    edit("wrong_shape_grad_out", Base::Basic, "grad_out", |t| {
        *find(t, "grad_out") = (
            "grad_out".into(),
            vec![7, 5],
            TensorData::F64(vec![0.5; 35]),
        )
    }),
    // [2, 11] -> [11, 2]: same element count.
    edit("wrong_shape_edge_index", Base::Basic, "edge_index", |t| {
        find(t, "edge_index").1 = vec![11, 2]
    }),
    // 12 nodes, 11 labels.
    edit("wrong_length_labels", Base::TwoLayer, "y", |t| {
        *find(t, "y") = ("y".into(), vec![11], TensorData::I64(vec![0; 11]))
    }),
    edit(
        "wrong_length_train_mask",
        Base::TwoLayer,
        "train_mask",
        |t| *find(t, "train_mask") = ("train_mask".into(), vec![13], TensorData::U8(vec![1; 13])),
    ),
    // Wrong dtypes.
    edit("wrong_dtype_x", Base::Basic, "x", |t| {
        find(t, "x").2 = TensorData::I64(vec![1; 35])
    }),
    edit("wrong_dtype_edge_index", Base::Basic, "edge_index", |t| {
        let ei = find(t, "edge_index");
        ei.2 = ints_to_f64(&ei.2)
    }),
    edit("wrong_dtype_labels", Base::TwoLayer, "y", |t| {
        let y = find(t, "y");
        y.2 = ints_to_f64(&y.2)
    }),
    edit(
        "wrong_dtype_train_mask",
        Base::TwoLayer,
        "train_mask",
        |t| {
            let m = find(t, "train_mask");
            let TensorData::U8(v) = &m.2 else {
                panic!("train_mask is not U8")
            };
            m.2 = TensorData::F32(v.iter().map(|&b| b as f32).collect())
        },
    ),
    // Bad node indices. 7 nodes: index 7 is one past the end (row 1, the targets).
    edit("edge_target_out_of_range", Base::Basic, "edge_index", |t| {
        set_i64(t, "edge_index", 11 + 4, 7)
    }),
    edit("edge_source_out_of_range", Base::Basic, "edge_index", |t| {
        set_i64(t, "edge_index", 3, 1000)
    }),
    edit("edge_negative", Base::Basic, "edge_index", |t| {
        set_i64(t, "edge_index", 0, -1)
    }),
    edit("edge_huge", Base::Basic, "edge_index", |t| {
        set_i64(t, "edge_index", 11 + 10, i64::MAX)
    }),
    edit("edge_min", Base::Basic, "edge_index", |t| {
        set_i64(t, "edge_index", 5, i64::MIN)
    }),
    // 12 nodes.
    edit(
        "edge_out_of_range_two_layer",
        Base::TwoLayer,
        "edge_index",
        |t| set_i64(t, "edge_index", 0, 12),
    ),
    // Non-finite inputs.
    edit("nan_in_x", Base::Basic, "x", |t| {
        set_f64(t, "x", 17, f64::NAN)
    }),
    edit("inf_in_param", Base::Basic, "param.att", |t| {
        set_f64(t, "param.att", 2, f64::INFINITY)
    }),
    edit("neg_inf_in_grad_out", Base::Basic, "grad_out", |t| {
        set_f64(t, "grad_out", 41, f64::NEG_INFINITY)
    }),
    edit(
        "nan_in_f32_weight",
        Base::TwoLayer,
        "param.conv2.lin_r.weight",
        |t| {
            let w = find(t, "param.conv2.lin_r.weight");
            let mut v = f64_to_f32(&w.2);
            v[7] = f32::NAN;
            w.2 = TensorData::F32(v)
        },
    ),
    TensorEdit {
        extra: &["--dtype", "f32"],
        ..edit("nan_in_x_f32", Base::Basic, "x", |t| {
            set_f64(t, "x", 3, f64::NAN)
        })
    },
    // 1e300 is a finite f64 but infinite as f32: with `--dtype f32` the input is effectively
    // infinite, and the message must name the input (as `TensorFile::f32` does), not a result.
    TensorEdit {
        extra: &["--dtype", "f32"],
        ..edit("x_too_large_for_f32", Base::Basic, "x", |t| {
            set_f64(t, "x", 0, 1e300)
        })
    },
    // Labels and masks: conv2 has 3 output channels, so classes are 0..3.
    edit("label_too_big", Base::TwoLayer, "y", |t| {
        set_i64(t, "y", 4, 3)
    }),
    edit("label_negative", Base::TwoLayer, "y", |t| {
        set_i64(t, "y", 0, -1)
    }),
    edit("label_huge", Base::TwoLayer, "y", |t| {
        set_i64(t, "y", 11, i64::MAX)
    }),
    edit("all_zero_mask", Base::TwoLayer, "train_mask", |t| {
        find(t, "train_mask").2 = TensorData::U8(vec![0; 12])
    }),
    edit("mask_not_boolean", Base::TwoLayer, "train_mask", |t| {
        find(t, "train_mask").2 = TensorData::U8(vec![2; 12])
    }),
];

/// Every tensor edit is refused with exit status 2 and one line naming the tensor.
#[test]
fn one_changed_tensor_is_named() {
    run_all(
        TENSOR_EDITS,
        |c| c.name,
        |c| {
            let (model, case) = c.base.model_and_case();
            let mut t = load_all(case);
            (c.edit)(&mut t);
            let o = run_tensors(c.name, model, &t, c.extra);
            rejection_problem(&o, 2, &[&format!("`{}`", c.names)])
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Truncated or corrupt files: the message names the file.

fn basic_bytes() -> Vec<u8> {
    std::fs::read(root().join(BASIC)).expect("read the basic case")
}

/// A case file's bytes made from the basic case's.
type Corrupt = (&'static str, fn(Vec<u8>) -> Vec<u8>);

const CORRUPT_FILES: &[Corrupt] = &[
    ("truncated", |b| b[..b.len() - 100].to_vec()),
    ("truncated_header", |b| b[..200].to_vec()),
    ("empty_file", |_| Vec::new()),
    ("corrupt_header", |mut b| {
        b[8] = b'#';
        b
    }),
    ("corrupt_header_length", |mut b| {
        b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        b
    }),
    ("not_safetensors", |_| {
        std::fs::read(root().join(GATV2)).unwrap()
    }),
];

/// A case file that is not a valid tensor file is refused with one line naming the file.
#[test]
fn corrupt_case_files_are_named() {
    run_all(
        CORRUPT_FILES,
        |c| c.0,
        |(name, corrupt)| {
            let o = run_bytes(name, GATV2, &corrupt(basic_bytes()), &[]);
            rejection_problem(&o, 2, &["case.safetensors"])
        },
    );
}

#[test]
fn inputs_file_does_not_exist() {
    let dir = TempDir::new("no_inputs");
    let missing = dir.path("nope.safetensors");
    let o = grad(dir, &root().join(GATV2), &missing, &[]);
    assert_rejected(&o, 2, &["nope.safetensors"]);
}

// ---------------------------------------------------------------------------------------------
// Bad `--set` and `--dim` values: the message names the flag.

fn basic_with(test: &str, extra: &[&str]) -> Outcome {
    let dir = TempDir::new(test);
    grad(dir, &root().join(GATV2), &root().join(BASIC), extra)
}

/// A case name, the flags given, and what the one line must contain.
type BadFlag = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const BAD_FLAGS: &[BadFlag] = &[
    ("set_nan_text", &["--set", "slope=abc"], &["--set", "slope"]),
    ("set_no_equals", &["--set", "slope"], &["--set"]),
    ("set_inf", &["--set", "slope=inf"], &["--set", "slope"]),
    ("set_nan", &["--set", "slope=NaN"], &["--set", "slope"]),
    (
        "set_unknown",
        &["--set", "no_such_constant=1"],
        &["no_such_constant"],
    ),
    ("dim_zero", &["--dim", "H=0"], &["--dim", "H=0"]),
    ("dim_text", &["--dim", "H=two"], &["--dim", "H=two"]),
    ("dim_negative", &["--dim", "H=-2"], &["--dim", "H=-2"]),
    ("dim_no_equals", &["--dim", "H"], &["--dim"]),
    ("dim_unknown", &["--dim", "Q=3"], &["`Q`"]),
];

#[test]
fn bad_flags_are_named() {
    run_all(
        BAD_FLAGS,
        |c| c.0,
        |(name, flags, needles)| rejection_problem(&basic_with(name, flags), 2, needles),
    );
}

#[test]
fn dim_conflicts_with_data() {
    // The files fix H = 2 (param.att is [1, 2, 3]); H = 4 cannot hold. The message must name the
    // flag or a tensor it conflicts with.
    let o = basic_with("dim_conflict", &["--dim", "H=4"]);
    assert_rejected(&o, 2, &[]);
    assert!(
        o.stderr.contains("--dim") || o.stderr.contains("`param."),
        "names neither the flag nor a tensor:\n{}",
        o.describe()
    );
}

#[test]
fn dim_astronomical() {
    let o = basic_with("dim_huge", &["--dim", &format!("H={}", usize::MAX)]);
    assert_rejected(&o, 2, &[]);
    assert!(
        o.stderr.contains("--dim") || o.stderr.contains("`param."),
        "names neither the flag nor a tensor:\n{}",
        o.describe()
    );
}

#[test]
fn dims_whose_product_overflows() {
    // H·C = 2^64 does not fit in usize: must be a clean error, not an arithmetic overflow.
    let o = basic_with(
        "dim_product_overflow",
        &["--dim", "H=4294967296", "--dim", "C=4294967296"],
    );
    assert_rejected(&o, 2, &[]);
    assert!(
        o.stderr.contains("--dim") || o.stderr.contains("`param."),
        "names neither the flag nor a tensor:\n{}",
        o.describe()
    );
}

/// A model whose class count `K` no tensor fixes, so only `--dim K=...` sets it.
const FREE_K_MODEL: &str = "model free_k() {
    dims F, K;
    input  x[n: node, f: F];
    labels y[n: node] classes K;
    mask   train_mask[n: node];
    out[n, k: K] = sum_f x[n, f];
    loss = cross_entropy(out, y, train_mask);
    output out;
}
";

fn free_k_with(test: &str, k: &str) -> Outcome {
    let dir = TempDir::new(test);
    let model = dir.path("free_k.gat");
    std::fs::write(&model, FREE_K_MODEL).unwrap();
    // The two-layer case without its parameters, which this model does not read (they would
    // add a warning line).
    let mut tensors = load_all(TWO_LAYER_CASE);
    tensors.retain(|t| !t.0.starts_with("param."));
    let inputs = dir.path("case.safetensors");
    write_tensors(&inputs, &tensors, None).expect("write the case");
    // 8 GiB of address space: far more than a sane run needs, far less than a runaway one.
    grad_limited(
        dir,
        &model,
        &inputs,
        &["--dim", &format!("K={k}")],
        Some(8 << 20),
    )
}

#[test]
fn free_dim_harness_works() {
    let o = free_k_with("free_k_ok", "3");
    assert_eq!(o.code, Some(0), "{}", o.describe());
    assert!(o.out_exists, "{}", o.describe());
}

#[test]
fn free_dim_size_overflows() {
    // 12 nodes × 2^62 classes overflows usize.
    let o = free_k_with("free_k_overflow", "4611686018427387904");
    assert_rejected(&o, 2, &["K"]);
}

#[test]
fn free_dim_size_too_large_to_allocate() {
    // 12 nodes × 2^40 classes × 8 bytes = 96 TiB: must be refused, not attempted.
    let o = free_k_with("free_k_huge", "1099511627776");
    assert_rejected(&o, 2, &["K"]);
}

// ---------------------------------------------------------------------------------------------
// A model with errors: exit status 1, nothing written.

#[test]
fn model_with_errors_exits_1() {
    let dir = TempDir::new("bad_model");
    let model = dir.path("bad.gat");
    std::fs::write(
        &model,
        "layer broken(slope = 0.2) {\n    dims F;\n    input x[n: node, f: F];\n    out[n, f] = y[n, f];\n    output out;\n}\n",
    )
    .unwrap();
    let o = grad(dir, &model, &root().join(BASIC), &[]);
    let why = o.describe();
    assert!(!o.stderr.contains("panicked"), "gatgrad panicked:\n{why}");
    assert_eq!(o.code, Some(1), "wrong exit status:\n{why}");
    assert!(!o.stderr.trim().is_empty(), "no diagnostic:\n{why}");
    assert!(!o.out_exists, "an output file was written:\n{why}");
}

#[test]
fn model_with_syntax_error_exits_1() {
    let dir = TempDir::new("syntax_model");
    let model = dir.path("syntax.gat");
    std::fs::write(&model, "layer oops( {\n").unwrap();
    let o = grad(dir, &model, &root().join(BASIC), &[]);
    let why = o.describe();
    assert!(!o.stderr.contains("panicked"), "gatgrad panicked:\n{why}");
    assert_eq!(o.code, Some(1), "wrong exit status:\n{why}");
    assert!(!o.out_exists, "an output file was written:\n{why}");
}

/// A model file that cannot be read is an environment problem (2, as for `train` and
/// `diagnose`), not a wrong program (1).
#[test]
fn model_file_missing_exits_2() {
    let dir = TempDir::new("missing_model");
    let model = dir.path("absent.gat");
    let o = grad(dir, &model, &root().join(BASIC), &[]);
    assert_rejected(&o, 2, &["absent.gat"]);
}
