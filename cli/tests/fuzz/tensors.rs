//! Tensor files for `run_case`: structured and byte-level mutations of the reference cases, and
//! consistent cases of random sizes.

use crate::rng::Rng;
use gatgrad::runtime::TensorData;

pub use crate::support::tensors::{tensors_of, Tensors};

fn as_f64s(d: &TensorData) -> Vec<f64> {
    match d {
        TensorData::F64(v) => v.clone(),
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::U8(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

fn with_dtype(rng: &mut Rng, values: Vec<f64>) -> TensorData {
    match rng.below(4) {
        0 => TensorData::F64(values),
        1 => TensorData::F32(values.into_iter().map(|x| x as f32).collect()),
        2 => TensorData::I64(values.into_iter().map(|x| x as i64).collect()),
        _ => TensorData::U8(values.into_iter().map(|x| x as u8).collect()),
    }
}

fn random_value(rng: &mut Rng) -> f64 {
    match rng.below(12) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => f64::MAX,
        4 => -f64::MAX,
        5 => f64::MIN_POSITIVE / 4.0,
        6 => 0.0,
        7 => -0.0,
        8 => 1e300,
        9 => 3.5e38,
        10 => 1e-300,
        _ => (rng.unit() - 0.5) * 10.0,
    }
}

fn random_index(rng: &mut Rng, n: usize) -> i64 {
    match rng.below(14) {
        0 => -1,
        1 => n as i64,
        2 => n as i64 + 1,
        3 => i64::MAX,
        4 => i64::MIN,
        5 => u32::MAX as i64,
        6 => u32::MAX as i64 + 1,
        7 => i32::MAX as i64,
        8 => 1 << 40,
        9 => -(1 << 33),
        _ => rng.below(n.max(1)) as i64,
    }
}

fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let rank = rng.below(5);
    (0..rank)
        .map(|_| match rng.below(8) {
            0 => 0,
            1 => 1,
            _ => rng.range(1, 13),
        })
        .collect()
}

/// One structured mutation; returns a description of it.
pub fn mutate_tensors(rng: &mut Rng, t: &mut Tensors) -> String {
    if t.is_empty() {
        return "no tensors".into();
    }
    let nodes = t
        .iter()
        .find(|x| x.0 == "x")
        .and_then(|x| x.1.first().copied())
        .unwrap_or(7);
    let k = rng.below(t.len());
    let name = t[k].0.clone();
    match rng.below(13) {
        0 => {
            // A random shape (and random data to match) for one tensor.
            let shape = random_shape(rng);
            let numel: usize = shape.iter().product();
            let values: Vec<f64> = (0..numel).map(|_| (rng.unit() - 0.5) * 4.0).collect();
            let keep_dtype = rng.chance(1, 2);
            t[k].2 = if keep_dtype {
                match &t[k].2 {
                    TensorData::F64(_) => TensorData::F64(values),
                    TensorData::F32(_) => {
                        TensorData::F32(values.iter().map(|&x| x as f32).collect())
                    }
                    TensorData::I64(_) => TensorData::I64(
                        values
                            .iter()
                            .map(|_| rng.below(nodes.max(1)) as i64)
                            .collect(),
                    ),
                    TensorData::U8(_) => {
                        TensorData::U8(values.iter().map(|_| rng.below(2) as u8).collect())
                    }
                }
            } else {
                with_dtype(rng, values)
            };
            t[k].1 = shape.clone();
            format!("`{name}` gets shape {shape:?}")
        }
        1 => {
            // Same data, another dtype.
            let values = as_f64s(&t[k].2);
            t[k].2 = with_dtype(rng, values);
            format!("`{name}` converted to another dtype")
        }
        2 => {
            // Same data, reshaped to another shape with the same element count.
            let numel = t[k].2.len();
            let shape = match rng.below(4) {
                0 => vec![numel],
                1 => vec![1, numel],
                2 => vec![numel, 1],
                _ => {
                    let mut s = t[k].1.clone();
                    s.reverse();
                    s
                }
            };
            t[k].1 = shape.clone();
            format!("`{name}` reshaped to {shape:?}")
        }
        3 | 4 => {
            // Random edge indices, including huge and negative ones.
            if let Some(e) = t.iter_mut().find(|x| x.0 == "edge_index") {
                let mut v = match &e.2 {
                    TensorData::I64(v) => v.clone(),
                    other => as_f64s(other).into_iter().map(|x| x as i64).collect(),
                };
                let count = rng.range(1, 4);
                let mut what = Vec::new();
                for _ in 0..count {
                    if v.is_empty() {
                        break;
                    }
                    let at = rng.below(v.len());
                    v[at] = random_index(rng, nodes);
                    what.push(format!("[{at}] = {}", v[at]));
                }
                e.2 = TensorData::I64(v);
                format!("edge_index entries {}", what.join(", "))
            } else {
                "no edge_index".into()
            }
        }
        5 => {
            // A random graph of random size (self loops, duplicates, isolated nodes).
            let edges = match rng.below(5) {
                0 => 0,
                1 => 1,
                _ => rng.range(1, 60),
            };
            let mut v = Vec::with_capacity(2 * edges);
            for _ in 0..2 * edges {
                v.push(rng.below(nodes.max(1)) as i64);
            }
            if let Some(e) = t.iter_mut().find(|x| x.0 == "edge_index") {
                e.1 = vec![2, edges];
                e.2 = TensorData::I64(v);
            }
            format!("edge_index replaced by {edges} random edges")
        }
        6 | 7 => {
            // A non-finite or extreme value in one float tensor.
            let floats: Vec<usize> = (0..t.len())
                .filter(|&i| matches!(t[i].2, TensorData::F64(_) | TensorData::F32(_)))
                .collect();
            if floats.is_empty() {
                return "no float tensor".into();
            }
            let i = *rng.pick(&floats);
            let value = random_value(rng);
            let len = t[i].2.len();
            if len == 0 {
                return format!("`{}` is empty", t[i].0);
            }
            let at = rng.below(len);
            match &mut t[i].2 {
                TensorData::F64(v) => v[at] = value,
                TensorData::F32(v) => v[at] = value as f32,
                _ => {}
            }
            format!("`{}`[{at}] = {value:e}", t[i].0)
        }
        8 => {
            t.remove(k);
            format!("`{name}` removed")
        }
        9 => {
            let new = rng
                .pick(&[
                    "x",
                    "edge_index",
                    "y",
                    "train_mask",
                    "grad_out",
                    "param.att",
                    "",
                    "x ",
                    "\u{0}",
                    "param.",
                    "grad.x",
                ])
                .to_string();
            if t.iter().any(|x| x.0 == new) {
                t.remove(k);
                format!("`{name}` removed (rename target `{new}` exists)")
            } else {
                t[k].0 = new.clone();
                format!("`{name}` renamed `{new}`")
            }
        }
        10 => {
            // Labels and masks: random values.
            let mut what = String::from("no labels or mask");
            for x in t.iter_mut() {
                if x.0 == "y" {
                    let mut v = match &x.2 {
                        TensorData::I64(v) => v.clone(),
                        other => as_f64s(other).into_iter().map(|f| f as i64).collect(),
                    };
                    if !v.is_empty() {
                        let at = rng.below(v.len());
                        v[at] = *rng.pick(&[-1, 3, 4, 100, i64::MAX, i64::MIN, 1 << 40]);
                        what = format!("y[{at}] = {}", v[at]);
                    }
                    x.2 = TensorData::I64(v);
                } else if x.0 == "train_mask" && rng.chance(1, 2) {
                    let len = x.2.len();
                    x.2 = TensorData::U8(
                        (0..len)
                            .map(|_| *rng.pick(&[0u8, 0, 0, 1, 2, 255]))
                            .collect(),
                    );
                    what = "train_mask randomised".into();
                }
            }
            what
        }
        11 => {
            // Change the node count: x (and grad_out, y, train_mask) get `m` rows.
            let m = *rng.pick(&[0usize, 1, 2, 3, 6, 8, 20]);
            for x in t.iter_mut() {
                let per_row = |x: &(String, Vec<usize>, TensorData)| {
                    x.1.get(1..).map_or(1, |r| r.iter().product::<usize>())
                };
                if ["x", "grad_out", "y", "train_mask"].contains(&x.0.as_str()) && !x.1.is_empty() {
                    let w = per_row(x);
                    let numel = m * w;
                    let values: Vec<f64> = (0..numel)
                        .map(|i| if x.0 == "y" { (i % 3) as f64 } else { 1.0 })
                        .collect();
                    x.2 = match &x.2 {
                        TensorData::F64(_) => TensorData::F64(values),
                        TensorData::F32(_) => {
                            TensorData::F32(values.iter().map(|&v| v as f32).collect())
                        }
                        TensorData::I64(_) => {
                            TensorData::I64(values.iter().map(|&v| v as i64).collect())
                        }
                        TensorData::U8(_) => {
                            TensorData::U8(values.iter().map(|&v| v as u8).collect())
                        }
                    };
                    x.1[0] = m;
                }
            }
            format!("node count set to {m}")
        }
        _ => {
            // A zero-sized axis.
            let mut shape = t[k].1.clone();
            if shape.is_empty() {
                shape.push(0);
            } else {
                let a = rng.below(shape.len());
                shape[a] = 0;
            }
            t[k].2 = match &t[k].2 {
                TensorData::F64(_) => TensorData::F64(vec![]),
                TensorData::F32(_) => TensorData::F32(vec![]),
                TensorData::I64(_) => TensorData::I64(vec![]),
                TensorData::U8(_) => TensorData::U8(vec![]),
            };
            t[k].1 = shape.clone();
            format!("`{name}` emptied to shape {shape:?}")
        }
    }
}

/// One byte-level mutation of a serialized file; returns a description.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let len = bytes.len();
    let header_end = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .map_or(0, |h| (h.min(len as u64) as usize + 8).min(len));
    match rng.below(9) {
        0 => {
            let at = rng.below(len.max(1)).min(len.saturating_sub(1));
            if len > 0 {
                bytes[at] ^= 1 << rng.below(8);
            }
            format!("bit flip at {at}")
        }
        1 => {
            let at = rng.below(len + 1);
            bytes.truncate(at);
            format!("truncated to {at} bytes")
        }
        2 => {
            let at = rng.below(len + 1);
            let n = rng.range(1, 16);
            let junk: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            bytes.splice(at..at, junk);
            format!("{n} random bytes inserted at {at}")
        }
        3 => {
            let at = rng.below(len + 1);
            let end = (at + rng.range(1, 32)).min(len);
            bytes.drain(at..end);
            format!("bytes {at}..{end} deleted")
        }
        4 => {
            // Rewrite the header length.
            let v: u64 = match rng.below(5) {
                0 => 0,
                1 => u64::MAX,
                2 => (len as u64).saturating_sub(8),
                3 => rng.below(len + 16) as u64,
                _ => 100_000_001,
            };
            if len >= 8 {
                bytes[..8].copy_from_slice(&v.to_le_bytes());
            }
            format!("header length set to {v}")
        }
        5 | 6 => {
            // Change a digit inside the header: shapes and offsets.
            let digits: Vec<usize> = (8..header_end)
                .filter(|&i| bytes[i].is_ascii_digit())
                .collect();
            if digits.is_empty() {
                return "no digit in the header".into();
            }
            let at = *rng.pick(&digits);
            let d = b'0' + rng.below(10) as u8;
            bytes[at] = d;
            format!("header digit at {at} set to {}", d as char)
        }
        7 => {
            // Replace a header token (a dtype, a key) by another one of the same length.
            let header = String::from_utf8_lossy(&bytes[8.min(len)..header_end]).into_owned();
            let swaps = [
                ("\"F64\"", "\"I64\""),
                ("\"I64\"", "\"F64\""),
                ("\"F64\"", "\"U64\""),
                ("\"U8\"", "\"I8\""),
                ("\"F64\"", "\"BF16\""),
                ("\"F64\"", "\"F32\""),
                ("shape", "shapf"),
                ("data_offsets", "data_offsetz"),
                ("[", "{"),
                (",", ":"),
            ];
            let (from, to) = *rng.pick(&swaps);
            match header.find(from) {
                Some(p) => {
                    let mut h = header.clone();
                    h.replace_range(p..p + from.len(), to);
                    let mut out = (h.len() as u64).to_le_bytes().to_vec();
                    out.extend(h.as_bytes());
                    out.extend(&bytes[header_end..]);
                    *bytes = out;
                    format!("header `{from}` replaced by `{to}` at {p}")
                }
                None => format!("no `{from}` in the header"),
            }
        }
        _ => {
            // Overwrite a stretch of the data section with random bytes (NaNs, huge indices).
            if header_end >= len {
                return "no data section".into();
            }
            let at = rng.range(header_end, len);
            let end = (at + rng.range(1, 24)).min(len);
            for b in &mut bytes[at..end] {
                *b = if rng.chance(1, 2) {
                    0xff
                } else {
                    rng.below(256) as u8
                };
            }
            format!("data bytes {at}..{end} randomised")
        }
    }
}

/// A readable account of a mutated file: the header, for the report.
pub fn describe_file(bytes: &[u8]) -> String {
    let Some(h) = bytes.get(..8) else {
        return format!("{} bytes, no header", bytes.len());
    };
    let n = u64::from_le_bytes(h.try_into().unwrap());
    match usize::try_from(n).ok().and_then(|n| bytes.get(8..8 + n)) {
        Some(header) => format!("header: {}", String::from_utf8_lossy(header)),
        None => format!("header length {n} in {} bytes", bytes.len()),
    }
}

/// A consistent case of random sizes for the single-layer zoo models (every parameter name any
/// of them uses) or for `gatv2_two_layer`: shapes agree, so `run_case` gets past binding and
/// runs forward and backward on odd graphs (no edges, self loops only, duplicates, isolated or
/// zero nodes) and extreme but finite values.
pub fn synthesise(rng: &mut Rng, model: &str) -> (Tensors, String) {
    fn size(rng: &mut Rng) -> usize {
        match rng.below(12) {
            0 => 0,
            1..=3 => 1,
            _ => rng.range(2, 6),
        }
    }
    fn values(rng: &mut Rng, n: usize, extreme: bool) -> Vec<f64> {
        (0..n)
            .map(|_| {
                if extreme && rng.chance(1, 8) {
                    *rng.pick(&[
                        1e300, -1e300, 1e154, 1e-300, 5e-324, 0.0, -0.0, 700.0, -745.0,
                    ])
                } else {
                    (rng.unit() - 0.5) * 4.0
                }
            })
            .collect()
    }
    let n = match rng.below(8) {
        0 => 0,
        1 => 1,
        _ => rng.range(2, 13),
    };
    let e = match rng.below(6) {
        0 => 0,
        _ => rng.range(1, 40),
    };
    let extreme = rng.chance(1, 4);
    let mut edges: Vec<i64> = Vec::with_capacity(2 * e);
    let graph = rng.below(4);
    for _ in 0..e {
        edges.push(rng.below(n.max(1)) as i64);
    }
    for k in 0..e {
        let d = match graph {
            0 => edges[k], // self loops only
            1 => 0,        // everything into node 0
            _ => rng.below(n.max(1)) as i64,
        };
        edges.push(d);
    }
    if n == 0 {
        // No node to point at: the only valid graph is empty.
        edges.clear();
    }
    let e = edges.len() / 2;
    let f = size(rng).max(usize::from(rng.chance(3, 4)));
    let mut t: Tensors = Vec::new();
    let mut push = |name: &str, shape: Vec<usize>, data: Vec<f64>| {
        t.push((name.to_string(), shape, TensorData::F64(data)));
    };
    push("x", vec![n, f], values(rng, n * f, extreme));
    let about = if model.ends_with("two_layer.gat") {
        let (h1, c1, h2, c2) = (size(rng), size(rng), size(rng), size(rng));
        let d1 = h1 * c1;
        for p in ["lin_l", "lin_r"] {
            push(
                &format!("param.conv1.{p}.weight"),
                vec![d1, f],
                values(rng, d1 * f, extreme),
            );
            push(
                &format!("param.conv1.{p}.bias"),
                vec![d1],
                values(rng, d1, extreme),
            );
            push(
                &format!("param.conv2.{p}.weight"),
                vec![h2 * c2, d1],
                values(rng, h2 * c2 * d1, extreme),
            );
            push(
                &format!("param.conv2.{p}.bias"),
                vec![h2 * c2],
                values(rng, h2 * c2, extreme),
            );
        }
        push("param.conv1.att", vec![1, h1, c1], values(rng, d1, extreme));
        push("param.conv1.bias", vec![d1], values(rng, d1, extreme));
        push(
            "param.conv2.att",
            vec![1, h2, c2],
            values(rng, h2 * c2, extreme),
        );
        push("param.conv2.bias", vec![c2], values(rng, c2, extreme));
        let y: Vec<i64> = (0..n)
            .map(|_| {
                if rng.chance(1, 30) {
                    c2 as i64
                } else {
                    rng.below(c2.max(1)) as i64
                }
            })
            .collect();
        let mask: Vec<u8> = (0..n).map(|_| u8::from(rng.chance(2, 3))).collect();
        t.push(("y".into(), vec![n], TensorData::I64(y)));
        t.push(("train_mask".into(), vec![n], TensorData::U8(mask)));
        format!("synthesised two-layer case: N={n} E={e} F={f} H1={h1} C1={c1} H2={h2} C2={c2}")
    } else {
        let (h, c) = (size(rng), size(rng));
        let d = h * c;
        for p in [
            "lin_l",
            "lin_r",
            "lin",
            "lin_query",
            "lin_key",
            "lin_value",
            "lin_skip",
        ] {
            push(
                &format!("param.{p}.weight"),
                vec![d, f],
                values(rng, d * f, extreme),
            );
            push(&format!("param.{p}.bias"), vec![d], values(rng, d, extreme));
        }
        for a in ["att", "att_src", "att_dst"] {
            push(
                &format!("param.{a}"),
                vec![1, h, c],
                values(rng, d, extreme),
            );
        }
        push("param.bias", vec![d], values(rng, d, extreme));
        push("param.beta", vec![1], values(rng, 1, extreme));
        let width = if model.ends_with("agnn.gat") { f } else { d };
        push("grad_out", vec![n, width], values(rng, n * width, extreme));
        format!("synthesised case: N={n} E={e} F={f} H={h} C={c}")
    };
    t.push(("edge_index".into(), vec![2, e], TensorData::I64(edges)));
    (t, about)
}
