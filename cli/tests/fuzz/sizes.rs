//! Small inputs that claim huge sizes: dataset metadata (`num_features`, `num_classes`), a graph
//! of billions of nodes, a dimension of billions (`dims K = N;`, `--dim K=N`), layer sizes for
//! training, and the same claims through the command line (`bench --features`, `gen-graph
//! --edges`, `bench --graph` with a graph file's `num_nodes`, `train --dataset`, `grad --dim`).
//! Every claim must be refused with a clear error before anything of that size is allocated;
//! each comes with a control — the same input with a small size — that must be accepted, so a
//! refusal is known to be about the size and not about a broken input.

use crate::cli::{gatgrad, TempDir};
use crate::harness::{Ctx, Input};
use crate::rng::Rng;
use crate::structured::tiny_case;
use crate::tensors::Tensors;
use gatgrad::runtime::{serialize_tensors, Dataset, Graph, Tensor, TensorData, TensorFile};
use std::collections::HashMap;
use std::time::Duration;

/// Sizes no machine this runs on can hold (under the 3 GiB address-space limit of the runs),
/// up to the edge of `usize`. `1e8` is huge only where it multiplies: features or classes
/// times the hidden width (see [`library_claim`]).
const HUGE: [&str; 7] = [
    "100000000",
    "2000000000",
    "4294967295",
    "4294967296",
    "1000000000000",
    "4611686018427387904",
    "18446744073709551615",
];

/// A huge size, or `None` for the control; `with_1e8` allows `100000000`.
fn huge(rng: &mut Rng, with_1e8: bool) -> Option<&'static str> {
    let sizes = if with_1e8 { &HUGE[..] } else { &HUGE[1..] };
    if rng.chance(1, 4) {
        None
    } else {
        Some(*rng.pick(sizes))
    }
}

fn kind(base: &'static str, control: bool) -> String {
    if control {
        format!("{base} (control)")
    } else {
        base.to_string()
    }
}

/// A valid dataset of 6 nodes, 4 features and 3 classes, with header metadata `key = value`.
pub fn dataset_bytes(key: &str, value: &str) -> Vec<u8> {
    let n = 6;
    let mut src: Vec<i64> = (0..n).collect();
    let mut dst: Vec<i64> = (0..n).map(|i| (i + 1) % n).collect();
    let (s2, d2) = (dst.clone(), src.clone());
    src.extend(s2);
    dst.extend(d2);
    let e = src.len();
    let edge_index: Vec<i64> = src.into_iter().chain(dst).collect();
    let t: Tensors = vec![
        ("edge_index".into(), vec![2, e], TensorData::I64(edge_index)),
        (
            "x_indptr".into(),
            vec![7],
            TensorData::I64(vec![0, 1, 3, 4, 6, 7, 8]),
        ),
        (
            "x_indices".into(),
            vec![8],
            TensorData::I64(vec![0, 1, 2, 3, 0, 2, 1, 3]),
        ),
        ("x_values".into(), vec![8], TensorData::F32(vec![1.0; 8])),
        ("y".into(), vec![6], TensorData::I64(vec![0, 1, 2, 0, 1, 2])),
        (
            "train_mask".into(),
            vec![6],
            TensorData::U8(vec![1, 1, 1, 0, 0, 0]),
        ),
        (
            "val_mask".into(),
            vec![6],
            TensorData::U8(vec![0, 0, 0, 1, 1, 0]),
        ),
        (
            "test_mask".into(),
            vec![6],
            TensorData::U8(vec![0, 0, 0, 0, 0, 1]),
        ),
    ];
    let mut meta: HashMap<String, String> = [
        ("name", "tiny"),
        ("num_nodes", "6"),
        ("num_features", "4"),
        ("num_classes", "3"),
        ("num_edges", "12"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    meta.insert(key.to_string(), value.to_string());
    serialize_tensors(&t, Some(meta)).expect("the tiny dataset serialises")
}

/// A graph file: `edge_index` of 3 edges on 4 nodes, metadata `num_nodes = value`.
pub fn graph_bytes(num_nodes: &str) -> Vec<u8> {
    let t: Tensors = vec![(
        "edge_index".into(),
        vec![2, 3],
        TensorData::I64(vec![0, 1, 2, 1, 2, 3]),
    )];
    let meta = HashMap::from([("num_nodes".to_string(), num_nodes.to_string())]);
    serialize_tensors(&t, Some(meta)).expect("the graph serialises")
}

/// A layer with a dimension `K` no tensor of [`tiny_case`] fixes, used only inside (so the
/// case's `grad_out` fits any `K`); `dims` is its declaration (`K` or `K = 2000000000`).
pub fn free_dim_program(dims: &str) -> String {
    format!(
        "layer k() {{\n    dims F, {dims};\n    input x[n: node, f: F];\n    \
         t[n, k: K] = sum_f x[n, f];\n    y[n, f] = x[n, f] * (mean_k t[n, k]);\n    \
         output y;\n}}\n"
    )
}

/// A raw safetensors file whose header says `header` (JSON) over `data` bytes.
fn raw_file(header: &str, data: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(std::iter::repeat(0u8).take(data));
    bytes
}

/// A claim made through the library: the class it belongs to, how it was made, and the call
/// that must refuse it (`Err`) — or, for a control, accept it (`Ok`).
pub struct LibraryClaim {
    pub kind: String,
    pub about: String,
    pub control: bool,
    pub run: Box<dyn FnOnce() -> Result<(), String>>,
}

impl LibraryClaim {
    /// A claim about `what` (its control when `control`), described by `about`, made by `run`.
    fn new(
        what: &'static str,
        control: bool,
        about: String,
        run: impl FnOnce() -> Result<(), String> + 'static,
    ) -> LibraryClaim {
        LibraryClaim {
            kind: kind(what, control),
            about,
            control,
            run: Box::new(run),
        }
    }
}

/// Trains the two-layer GATv2 for one epoch on `ds` with `heads` × `hidden` hidden features.
fn train_one_epoch(ds: &Dataset, heads: usize, hidden: usize) -> Result<(), String> {
    let cfg = gatgrad::train::TrainConfig {
        epochs: 1,
        heads,
        hidden,
        ..Default::default()
    };
    gatgrad::train::train::<gatgrad::zoo::GatV2TwoLayer>(ds, &cfg, |_| {}).map(|_| ())
}

/// One library claim (a huge size, or its control).
pub fn library_claim(rng: &mut Rng) -> LibraryClaim {
    let which = rng.below(6);
    let value = huge(rng, which <= 1);
    let control = value.is_none();
    match which {
        0 | 1 => {
            let key = *rng.pick(&["num_features", "num_classes"]);
            let v = value.unwrap_or(if key == "num_features" { "5" } else { "4" });
            let bytes = dataset_bytes(key, v);
            LibraryClaim::new(
                "dataset metadata",
                control,
                format!("a 6-node dataset whose metadata says {key} = {v}, trained 1 epoch"),
                move || {
                    let ds = Dataset::from_bytes("claim.safetensors", bytes)
                        .map_err(|e| e.to_string())?;
                    train_one_epoch(&ds, 2, 2)
                },
            )
        }
        2 => {
            let n: usize = value.map_or(10, |v| v.parse().unwrap_or(usize::MAX));
            LibraryClaim::new(
                "graph of n nodes",
                control,
                format!("Graph::from_edge_index({n}, 3 edges)"),
                move || {
                    let ei = Tensor {
                        shape: vec![2, 3],
                        data: vec![0i64, 1, 2, 1, 2, 3],
                    };
                    Graph::from_edge_index(n, &ei)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )
        }
        3 => {
            let v = value.unwrap_or("3");
            let in_text = rng.chance(1, 2);
            let (text, dims) = if in_text {
                (free_dim_program(&format!("K = {v}")), HashMap::new())
            } else {
                let n: usize = v.parse().unwrap_or(usize::MAX);
                (free_dim_program("K"), HashMap::from([("K".to_string(), n)]))
            };
            LibraryClaim::new(
                "dimension K",
                control,
                if in_text {
                    format!("`dims F, K = {v};` run on a 4-node case")
                } else {
                    format!("run_case with dims K = {v} on a 4-node case")
                },
                move || {
                    let c = gatgrad::compile("claim.gat", &text).map_err(|e| e.to_string())?;
                    let file = tiny_case();
                    gatgrad::cases::run_case::<f64>(&c.program, &file, &HashMap::new(), &dims)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )
        }
        4 => {
            let rows = value.unwrap_or("3");
            let header = format!(
                "{{\"x\":{{\"dtype\":\"F64\",\"shape\":[{rows},{rows}],\"data_offsets\":[0,72]}}}}"
            );
            let bytes = raw_file(&header, 72);
            LibraryClaim::new(
                "tensor file shape",
                control,
                format!("a 72-byte tensor `x` whose header says shape [{rows}, {rows}]"),
                move || {
                    let f = TensorFile::from_bytes("claim.safetensors", bytes)
                        .map_err(|e| e.to_string())?;
                    f.f64("x").map(|_| ()).map_err(|e| e.to_string())
                },
            )
        }
        _ => {
            let v: usize = value.map_or(2, |v| v.parse().unwrap_or(usize::MAX));
            let (heads, hidden) = if rng.chance(1, 2) { (v, 2) } else { (2, v) };
            let bytes = dataset_bytes("name", "tiny");
            LibraryClaim::new(
                "training sizes",
                control,
                format!("one epoch with {heads} heads × {hidden} hidden features"),
                move || {
                    let ds = Dataset::from_bytes("tiny.safetensors", bytes)
                        .map_err(|e| e.to_string())?;
                    train_one_epoch(&ds, heads, hidden)
                },
            )
        }
    }
}

/// A claim made through the command line: `gatgrad ARGS` in `dir`, which holds the files it
/// names.
pub struct CliClaim {
    pub kind: String,
    pub control: bool,
    pub args: Vec<String>,
}

/// One command-line claim (a huge size, or its control), writing its files into `dir`.
pub fn cli_claim(rng: &mut Rng, dir: &TempDir) -> CliClaim {
    let which = rng.below(6);
    let value = huge(rng, matches!(which, 0 | 3));
    let control = value.is_none();
    let s = |x: &str| x.to_string();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path(name), bytes).expect("write into the temporary folder");
        dir.path(name).display().to_string()
    };
    let (base, args): (&'static str, Vec<String>) = match which {
        0 => {
            let f = value.unwrap_or("8");
            (
                "bench --features",
                vec![
                    s("bench"),
                    s("--model"),
                    s("gatv2"),
                    s("--nodes"),
                    s("20"),
                    s("--edges"),
                    s("40"),
                    s("--features"),
                    s(f),
                    s("--heads"),
                    s("1"),
                    s("--channels"),
                    s("1"),
                    s("--reps"),
                    s("1"),
                ],
            )
        }
        1 => {
            let e = value.unwrap_or("30");
            (
                "gen-graph --edges",
                vec![
                    s("gen-graph"),
                    s("--nodes"),
                    s("10"),
                    s("--edges"),
                    s(e),
                    s("--seed"),
                    s("1"),
                    s("--out"),
                    dir.path("g.safetensors").display().to_string(),
                ],
            )
        }
        2 => {
            let n = value.unwrap_or("4");
            let graph = write("graph.safetensors", &graph_bytes(n));
            (
                "bench --graph num_nodes",
                vec![
                    s("bench"),
                    s("--model"),
                    s("gatv2"),
                    s("--graph"),
                    graph,
                    s("--features"),
                    s("4"),
                    s("--heads"),
                    s("1"),
                    s("--channels"),
                    s("1"),
                    s("--reps"),
                    s("1"),
                ],
            )
        }
        3 => {
            let key = *rng.pick(&["num_features", "num_classes"]);
            let v = value.unwrap_or(if key == "num_features" { "5" } else { "4" });
            let data = write("data.safetensors", &dataset_bytes(key, v));
            (
                "train --dataset metadata",
                vec![
                    s("train"),
                    crate::cli::model("gatv2_two_layer.gat"),
                    s("--dataset"),
                    data,
                    s("--epochs"),
                    s("1"),
                ],
            )
        }
        4 => {
            let k = value.unwrap_or("3");
            let program = write("k.gat", free_dim_program("K").as_bytes());
            let tiny = crate::tensors::tensors_of(&tiny_case());
            let case = write(
                "case.safetensors",
                &serialize_tensors(&tiny, None).expect("the case serialises"),
            );
            (
                "grad --dim",
                vec![
                    s("grad"),
                    program,
                    s("--inputs"),
                    case,
                    s("--out"),
                    dir.path("out.safetensors").display().to_string(),
                    s("--dim"),
                    format!("K={k}"),
                ],
            )
        }
        _ => {
            let v = value.unwrap_or("20");
            (
                "train --dataset sparse:nodes",
                vec![
                    s("train"),
                    crate::cli::model("gatv2_two_layer.gat"),
                    s("--dataset"),
                    format!("sparse:nodes={v},degree=3"),
                    s("--epochs"),
                    s("1"),
                ],
            )
        }
    };
    CliClaim {
        kind: kind(base, control),
        control,
        args,
    }
}

/// One iteration of the library campaign: a claim refused with a one-line error, or a control
/// accepted.
pub fn library_iteration(rng: &mut Rng, ctx: &mut Ctx) {
    let LibraryClaim {
        kind,
        about,
        control,
        run,
    } = library_claim(rng);
    let input = || Input::Text {
        text: about.clone(),
        note: kind.clone(),
    };
    let outcome = match (ctx.check("claim", about.as_bytes(), input, run), control) {
        (None, _) => "PANIC",
        (Some(Ok(())), true) => "accepted",
        (Some(Err(e)), false) if e.lines().count() == 1 => "refused",
        (Some(Err(e)), false) => {
            ctx.fail("claim", "refused with several lines", e, input());
            "refused, several lines"
        }
        (Some(Ok(())), false) => {
            let why = "a huge size was accepted".to_string();
            ctx.fail("claim", "accepted", why, input());
            "ACCEPTED"
        }
        (Some(Err(e)), true) => {
            ctx.fail("claim", "the control was refused", e, input());
            "control REFUSED"
        }
    };
    ctx.tally(&kind, outcome);
}

/// One iteration of the command-line campaign: a claim ends with exit 2 and one line on stderr,
/// a control with exit 0.
pub fn cli_iteration(rng: &mut Rng, ctx: &mut Ctx) {
    let dir = TempDir::new("sizes");
    let claim = cli_claim(rng, &dir);
    let command = format!("gatgrad {}", claim.args.join(" "));
    ctx.save_current(command.as_bytes());
    let run = gatgrad(dir.dir(), &claim.args, Duration::from_secs(60));
    let lines = run.stderr.lines().count();
    let outcome = match run.outcome() {
        o if o == "exit 2" && lines != 1 => format!("exit 2, {lines} lines on stderr"),
        o => o,
    };
    let want = if claim.control { "exit 0" } else { "exit 2" };
    if outcome != want {
        let input = Input::Command {
            line: command,
            note: claim.kind.clone(),
        };
        let what = format!("{outcome} (expected {want})");
        ctx.fail("gatgrad", &what, run.describe(), input);
    }
    ctx.tally(&claim.kind, &outcome);
}
