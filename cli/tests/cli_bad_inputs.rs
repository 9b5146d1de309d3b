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

/// Exit status `code`, exactly one line on stderr containing every one of `needles`, no output
/// file, no panic.
fn assert_rejected(o: &Outcome, code: i32, needles: &[&str]) {
    let why = o.describe();
    assert!(!o.stderr.contains("panicked"), "gatgrad panicked:\n{why}");
    assert_eq!(o.code, Some(code), "wrong exit status:\n{why}");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stderr:\n{why}"
    );
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "stderr does not mention {needle}:\n{why}"
        );
    }
    assert!(
        !o.out_exists,
        "an output file was written at {} despite the error:\n{why}",
        o.out.display()
    );
}

/// Exit status 2 with one line naming `` `name` ``.
fn assert_bad_data(o: &Outcome, name: &str) {
    assert_rejected(o, 2, &[&format!("`{name}`")]);
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
// Missing tensors.

#[test]
fn missing_parameter() {
    let mut t = load_all(BASIC);
    remove(&mut t, "param.att");
    let o = run_tensors("missing_param", GATV2, &t, &[]);
    assert_bad_data(&o, "param.att");
}

#[test]
fn missing_x() {
    let mut t = load_all(BASIC);
    remove(&mut t, "x");
    let o = run_tensors("missing_x", GATV2, &t, &[]);
    assert_bad_data(&o, "x");
}

#[test]
fn missing_edge_index() {
    let mut t = load_all(BASIC);
    remove(&mut t, "edge_index");
    let o = run_tensors("missing_edge_index", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn missing_grad_out() {
    let mut t = load_all(BASIC);
    remove(&mut t, "grad_out");
    let o = run_tensors("missing_grad_out", GATV2, &t, &[]);
    assert_bad_data(&o, "grad_out");
}

#[test]
fn missing_labels() {
    let mut t = load_all(TWO_LAYER_CASE);
    remove(&mut t, "y");
    let o = run_tensors("missing_labels", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn missing_train_mask() {
    let mut t = load_all(TWO_LAYER_CASE);
    remove(&mut t, "train_mask");
    let o = run_tensors("missing_train_mask", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "train_mask");
}

// ---------------------------------------------------------------------------------------------
// Wrong shapes.

#[test]
fn wrong_shape_weight() {
    // [6, 5] -> [5, 6]: same element count, transposed.
    let mut t = load_all(BASIC);
    find(&mut t, "param.lin_l.weight").1 = vec![5, 6];
    let o = run_tensors("wrong_shape_weight", GATV2, &t, &[]);
    assert_bad_data(&o, "param.lin_l.weight");
}

#[test]
fn wrong_rank_att() {
    // [1, 2, 3] -> [6]
    let mut t = load_all(BASIC);
    find(&mut t, "param.att").1 = vec![6];
    let o = run_tensors("wrong_rank_att", GATV2, &t, &[]);
    assert_bad_data(&o, "param.att");
}

#[test]
fn wrong_shape_bias() {
    // [6] -> [5]: H*C no longer matches.
    let mut t = load_all(BASIC);
    let bias = find(&mut t, "param.bias");
    bias.1 = vec![5];
    bias.2 = TensorData::F64(vec![0.1; 5]);
    let o = run_tensors("wrong_shape_bias", GATV2, &t, &[]);
    assert_bad_data(&o, "param.bias");
}

#[test]
fn wrong_shape_grad_out() {
    // [7, 6] -> [7, 5]
    let mut t = load_all(BASIC);
    let g = find(&mut t, "grad_out");
    g.1 = vec![7, 5];
    g.2 = TensorData::F64(vec![0.5; 35]);
    let o = run_tensors("wrong_shape_grad_out", GATV2, &t, &[]);
    assert_bad_data(&o, "grad_out");
}

#[test]
fn wrong_shape_edge_index() {
    // [2, 11] -> [11, 2]: same element count.
    let mut t = load_all(BASIC);
    find(&mut t, "edge_index").1 = vec![11, 2];
    let o = run_tensors("wrong_shape_edge_index", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn wrong_length_labels() {
    // 12 nodes, 11 labels.
    let mut t = load_all(TWO_LAYER_CASE);
    let y = find(&mut t, "y");
    y.1 = vec![11];
    y.2 = TensorData::I64(vec![0; 11]);
    let o = run_tensors("wrong_length_labels", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn wrong_length_train_mask() {
    let mut t = load_all(TWO_LAYER_CASE);
    let m = find(&mut t, "train_mask");
    m.1 = vec![13];
    m.2 = TensorData::U8(vec![1; 13]);
    let o = run_tensors("wrong_length_train_mask", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "train_mask");
}

// ---------------------------------------------------------------------------------------------
// Wrong dtypes.

#[test]
fn wrong_dtype_x_integer() {
    let mut t = load_all(BASIC);
    let x = find(&mut t, "x");
    x.2 = TensorData::I64(vec![1; 35]);
    let o = run_tensors("wrong_dtype_x", GATV2, &t, &[]);
    assert_bad_data(&o, "x");
}

#[test]
fn wrong_dtype_edge_index_float() {
    let mut t = load_all(BASIC);
    let ei = find(&mut t, "edge_index");
    let TensorData::I64(v) = &ei.2 else {
        panic!("edge_index is not I64")
    };
    ei.2 = TensorData::F64(v.iter().map(|&i| i as f64).collect());
    let o = run_tensors("wrong_dtype_edge_index", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn wrong_dtype_labels_float() {
    let mut t = load_all(TWO_LAYER_CASE);
    let y = find(&mut t, "y");
    let TensorData::I64(v) = &y.2 else {
        panic!("y is not I64")
    };
    y.2 = TensorData::F64(v.iter().map(|&i| i as f64).collect());
    let o = run_tensors("wrong_dtype_labels", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn wrong_dtype_train_mask_float() {
    let mut t = load_all(TWO_LAYER_CASE);
    let m = find(&mut t, "train_mask");
    let TensorData::U8(v) = &m.2 else {
        panic!("train_mask is not U8")
    };
    m.2 = TensorData::F32(v.iter().map(|&b| b as f32).collect());
    let o = run_tensors("wrong_dtype_train_mask", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "train_mask");
}

// ---------------------------------------------------------------------------------------------
// Bad node indices.

#[test]
fn edge_index_target_out_of_range() {
    // 7 nodes: index 7 is one past the end (row 1, the targets).
    let mut t = load_all(BASIC);
    set_i64(&mut t, "edge_index", 11 + 4, 7);
    let o = run_tensors("edge_target_out_of_range", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn edge_index_source_out_of_range() {
    let mut t = load_all(BASIC);
    set_i64(&mut t, "edge_index", 3, 1000);
    let o = run_tensors("edge_source_out_of_range", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn edge_index_negative() {
    let mut t = load_all(BASIC);
    set_i64(&mut t, "edge_index", 0, -1);
    let o = run_tensors("edge_negative", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn edge_index_huge() {
    let mut t = load_all(BASIC);
    set_i64(&mut t, "edge_index", 11 + 10, i64::MAX);
    let o = run_tensors("edge_huge", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn edge_index_most_negative() {
    let mut t = load_all(BASIC);
    set_i64(&mut t, "edge_index", 5, i64::MIN);
    let o = run_tensors("edge_min", GATV2, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

#[test]
fn edge_index_out_of_range_two_layer() {
    // 12 nodes.
    let mut t = load_all(TWO_LAYER_CASE);
    set_i64(&mut t, "edge_index", 0, 12);
    let o = run_tensors("edge_out_of_range_two_layer", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "edge_index");
}

// ---------------------------------------------------------------------------------------------
// Non-finite inputs.

#[test]
fn nan_in_x() {
    let mut t = load_all(BASIC);
    set_f64(&mut t, "x", 17, f64::NAN);
    let o = run_tensors("nan_in_x", GATV2, &t, &[]);
    assert_bad_data(&o, "x");
}

#[test]
fn inf_in_parameter() {
    let mut t = load_all(BASIC);
    set_f64(&mut t, "param.att", 2, f64::INFINITY);
    let o = run_tensors("inf_in_param", GATV2, &t, &[]);
    assert_bad_data(&o, "param.att");
}

#[test]
fn neg_inf_in_grad_out() {
    let mut t = load_all(BASIC);
    set_f64(&mut t, "grad_out", 41, f64::NEG_INFINITY);
    let o = run_tensors("neg_inf_in_grad_out", GATV2, &t, &[]);
    assert_bad_data(&o, "grad_out");
}

#[test]
fn nan_in_f32_weight() {
    let mut t = load_all(TWO_LAYER_CASE);
    let w = find(&mut t, "param.conv2.lin_r.weight");
    let TensorData::F64(v) = &w.2 else {
        panic!("not F64")
    };
    let mut v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    v[7] = f32::NAN;
    w.2 = TensorData::F32(v);
    let o = run_tensors("nan_in_f32_weight", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "param.conv2.lin_r.weight");
}

#[test]
fn nan_in_x_with_f32_interpreter() {
    let mut t = load_all(BASIC);
    set_f64(&mut t, "x", 3, f64::NAN);
    let o = run_tensors("nan_in_x_f32", GATV2, &t, &["--dtype", "f32"]);
    assert_bad_data(&o, "x");
}

#[test]
fn input_too_large_for_f32_names_the_tensor() {
    // 1e300 is a finite f64 but infinite as f32: with `--dtype f32` the input is effectively
    // infinite, and the message must name the input (as `TensorFile::f32` does), not a result.
    let mut t = load_all(BASIC);
    set_f64(&mut t, "x", 0, 1e300);
    let o = run_tensors("x_too_large_for_f32", GATV2, &t, &["--dtype", "f32"]);
    assert_bad_data(&o, "x");
}

// ---------------------------------------------------------------------------------------------
// Truncated or corrupt files: the message names the file.

fn basic_bytes() -> Vec<u8> {
    std::fs::read(root().join(BASIC)).expect("read the basic case")
}

#[test]
fn truncated_file() {
    let bytes = basic_bytes();
    let o = run_bytes("truncated", GATV2, &bytes[..bytes.len() - 100], &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn truncated_inside_header() {
    let bytes = basic_bytes();
    let o = run_bytes("truncated_header", GATV2, &bytes[..200], &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn empty_file() {
    let o = run_bytes("empty_file", GATV2, &[], &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn corrupt_header_json() {
    let mut bytes = basic_bytes();
    bytes[8] = b'#';
    let o = run_bytes("corrupt_header", GATV2, &bytes, &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn corrupt_header_length() {
    let mut bytes = basic_bytes();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let o = run_bytes("corrupt_header_length", GATV2, &bytes, &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn not_a_safetensors_file() {
    let text = std::fs::read(root().join(GATV2)).unwrap();
    let o = run_bytes("not_safetensors", GATV2, &text, &[]);
    assert_rejected(&o, 2, &["case.safetensors"]);
}

#[test]
fn inputs_file_does_not_exist() {
    let dir = TempDir::new("no_inputs");
    let missing = dir.path("nope.safetensors");
    let o = grad(dir, &root().join(GATV2), &missing, &[]);
    assert_rejected(&o, 2, &["nope.safetensors"]);
}

// ---------------------------------------------------------------------------------------------
// Labels and masks.

#[test]
fn label_equal_to_class_count() {
    // conv2 has 3 output channels, so classes are 0..3.
    let mut t = load_all(TWO_LAYER_CASE);
    set_i64(&mut t, "y", 4, 3);
    let o = run_tensors("label_too_big", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn label_negative() {
    let mut t = load_all(TWO_LAYER_CASE);
    set_i64(&mut t, "y", 0, -1);
    let o = run_tensors("label_negative", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn label_huge() {
    let mut t = load_all(TWO_LAYER_CASE);
    set_i64(&mut t, "y", 11, i64::MAX);
    let o = run_tensors("label_huge", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "y");
}

#[test]
fn all_zero_train_mask() {
    let mut t = load_all(TWO_LAYER_CASE);
    find(&mut t, "train_mask").2 = TensorData::U8(vec![0; 12]);
    let o = run_tensors("all_zero_mask", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "train_mask");
}

#[test]
fn train_mask_not_boolean() {
    let mut t = load_all(TWO_LAYER_CASE);
    find(&mut t, "train_mask").2 = TensorData::U8(vec![2; 12]);
    let o = run_tensors("mask_not_boolean", TWO_LAYER, &t, &[]);
    assert_bad_data(&o, "train_mask");
}

// ---------------------------------------------------------------------------------------------
// Bad `--set` and `--dim` values: the message names the flag.

fn basic_with(test: &str, extra: &[&str]) -> Outcome {
    let dir = TempDir::new(test);
    grad(dir, &root().join(GATV2), &root().join(BASIC), extra)
}

#[test]
fn set_not_a_number() {
    let o = basic_with("set_nan_text", &["--set", "slope=abc"]);
    assert_rejected(&o, 2, &["--set", "slope"]);
}

#[test]
fn set_without_equals() {
    let o = basic_with("set_no_equals", &["--set", "slope"]);
    assert_rejected(&o, 2, &["--set"]);
}

#[test]
fn set_infinite() {
    let o = basic_with("set_inf", &["--set", "slope=inf"]);
    assert_rejected(&o, 2, &["--set", "slope"]);
}

#[test]
fn set_nan() {
    let o = basic_with("set_nan", &["--set", "slope=NaN"]);
    assert_rejected(&o, 2, &["--set", "slope"]);
}

#[test]
fn set_unknown_constant() {
    let o = basic_with("set_unknown", &["--set", "no_such_constant=1"]);
    assert_rejected(&o, 2, &["no_such_constant"]);
}

#[test]
fn dim_zero() {
    let o = basic_with("dim_zero", &["--dim", "H=0"]);
    assert_rejected(&o, 2, &["--dim", "H=0"]);
}

#[test]
fn dim_not_a_number() {
    let o = basic_with("dim_text", &["--dim", "H=two"]);
    assert_rejected(&o, 2, &["--dim", "H=two"]);
}

#[test]
fn dim_negative() {
    let o = basic_with("dim_negative", &["--dim", "H=-2"]);
    assert_rejected(&o, 2, &["--dim", "H=-2"]);
}

#[test]
fn dim_without_equals() {
    let o = basic_with("dim_no_equals", &["--dim", "H"]);
    assert_rejected(&o, 2, &["--dim"]);
}

#[test]
fn dim_unknown() {
    let o = basic_with("dim_unknown", &["--dim", "Q=3"]);
    assert_rejected(&o, 2, &["`Q`"]);
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
