//! Value parsers for the command line's flags. Each turns one flag's text into a value that can
//! mean something, or into a one-line reason, so clap refuses the flag (exit status 2) before any
//! work starts and names the flag and the value in its message.

use gatgrad::runtime::OutputPath;
use std::collections::HashMap;
use std::fmt::Display;
use std::path::PathBuf;

/// The element type of `grad` and `bench`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Dtype {
    /// 64-bit floats.
    F64,
    /// 32-bit floats.
    F32,
}

/// The most seeds `diagnose` runs per model.
pub const MAX_SEEDS: usize = 1000;

/// The most nodes a generated graph may have (node and edge ids are `u32`).
pub const MAX_NODES: usize = u32::MAX as usize / 2;

/// A whole number of at least 1 (epochs, seeds, heads, repetitions, ...).
pub fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err("expected a whole number of at least 1".into()),
    }
}

/// A seed: any whole number from 0 to 2^64 - 1.
pub fn seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("expected a whole number from 0 to {}", u64::MAX))
}

/// A whole number in `1..=max`; `why` explains the bound, `zero` is said of 0.
fn bounded(s: &str, max: usize, why: &str, zero: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(format!("must be at least 1{zero}")),
        Ok(n) if n > max => Err(format!("must be at most {max}{why}")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a whole number between 1 and {max}{why}")),
    }
}

/// Seeds per model: `1..=MAX_SEEDS`.
pub fn seeds(s: &str) -> Result<usize, String> {
    bounded(s, MAX_SEEDS, "", "")
}

/// Nodes of a generated graph: `1..=MAX_NODES`.
pub fn nodes(s: &str) -> Result<usize, String> {
    bounded(s, MAX_NODES, " (node ids are 32-bit)", "")
}

/// The most threads a pool may have: results are the same bits for any count, but thousands of
/// threads only cost time and memory (100 000 took 25 s to fail).
pub const MAX_THREADS: usize = 1024;

/// The cores this machine offers, and [`MAX_THREADS`].
pub fn thread_limit() -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores, MAX_THREADS)
}

/// A thread count: `1..=thread_limit()`.
pub fn threads(s: &str) -> Result<usize, String> {
    let (cores, max) = thread_limit();
    let why = format!(" (this machine has {cores} cores; leave --threads out to use them all)");
    bounded(s, max, &why, " (leave --threads out to use all cores)")
}

/// A finite floating-point number.
fn finite(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        return Err("must be a finite number".into());
    }
    Ok(v)
}

/// A learning rate: finite and greater than 0 (a negative rate would ascend the loss).
pub fn learning_rate(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v <= 0.0 {
        return Err("must be greater than 0".into());
    }
    Ok(v)
}

/// A finite number of at least 0 (weight decay).
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v < 0.0 {
        return Err("must be at least 0".into());
    }
    Ok(v + 0.0)
}

/// A dropout probability in `[0, 1)` (1 would drop everything).
pub fn probability(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if !(0.0..1.0).contains(&v) {
        return Err("must be in [0, 1) (1 would drop everything)".into());
    }
    Ok(v + 0.0)
}

/// A file to write, checked now: see [`OutputPath::check`].
pub fn output(path: PathBuf) -> Result<OutputPath, String> {
    OutputPath::check(path).map_err(|e| e.to_string())
}

/// A folder to write into (created later if missing): refused if something other than a folder
/// is at the path.
pub fn folder(path: PathBuf) -> Result<PathBuf, String> {
    match std::fs::metadata(&path) {
        Ok(m) if !m.is_dir() => Err(format!(
            "`{}` exists and is not a folder; give a folder (it is created if missing)",
            path.display()
        )),
        _ => Ok(path),
    }
}

/// `NAME=VALUE` with a finite value (`--set`).
pub fn constant(s: &str) -> Result<(String, f64), String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err("expected NAME=VALUE".into());
    };
    let v: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", v.trim()))?;
    if !v.is_finite() {
        return Err(format!("the value of `{}` must be finite", k.trim()));
    }
    Ok((name(k)?, v))
}

/// `NAME=SIZE` with a size of at least 1 (`--dim`).
pub fn dim(s: &str) -> Result<(String, usize), String> {
    let parsed = s
        .split_once('=')
        .and_then(|(k, v)| Some((k, v.trim().parse::<usize>().ok()?)));
    match parsed {
        Some((k, v)) if v > 0 => Ok((name(k)?, v)),
        _ => Err("expected NAME=SIZE with SIZE ≥ 1".into()),
    }
}

fn name(k: &str) -> Result<String, String> {
    let k = k.trim();
    if k.is_empty() {
        return Err("the NAME before `=` is empty".into());
    }
    Ok(k.to_string())
}

/// The `NAME=VALUE` pairs of a repeatable flag as a map; a name given twice is an error naming
/// both values.
pub fn unique<V: Display + Copy>(
    flag: &str,
    pairs: &[(String, V)],
) -> Result<HashMap<String, V>, String> {
    let mut out: HashMap<String, V> = HashMap::new();
    for (k, v) in pairs {
        if let Some(old) = out.insert(k.clone(), *v) {
            return Err(format!(
                "{flag} {k} is given twice ({k}={old} and {k}={v}); give it once"
            ));
        }
    }
    Ok(out)
}

/// Errors if two of the outputs are the same file (also through a symlink or another spelling):
/// the second write would replace the first.
pub fn distinct_outputs(outputs: &[(&str, &OutputPath)]) -> Result<(), String> {
    for (k, (flag_a, a)) in outputs.iter().enumerate() {
        for (flag_b, b) in &outputs[k + 1..] {
            if a.same_file(b) {
                return Err(format!(
                    "{flag_a} `{}` and {flag_b} `{}` are the same file; give two different paths",
                    a.path().display(),
                    b.path().display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_cannot_mean_anything_are_refused() {
        assert_eq!(count("3"), Ok(3));
        assert!(count("0").is_err() && count("-1").is_err() && count("x").is_err());
        assert_eq!(learning_rate("0.01"), Ok(0.01));
        for bad in ["0", "-1", "NaN", "inf", "-inf", "1e400", "x"] {
            assert!(learning_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.1").is_err() && non_negative("NaN").is_err());
        assert_eq!(probability("0.6"), Ok(0.6));
        for bad in ["1", "-0.5", "1.5", "NaN"] {
            assert!(probability(bad).is_err(), "{bad}");
        }
        let (cores, max) = thread_limit();
        assert!(max == MAX_THREADS && cores >= 1);
        assert_eq!(threads("1"), Ok(1));
        assert!(threads("0").is_err());
        let err = threads("100000").unwrap_err();
        assert!(
            err.contains(&format!("this machine has {cores} cores")),
            "{err}"
        );
        assert!(seeds("1001").is_err() && nodes("0").is_err());
        assert_eq!(seed("18446744073709551615"), Ok(u64::MAX));
        assert!(seed("-1").is_err() && seed("1.5").is_err());
    }

    #[test]
    fn repeated_names_are_refused_with_both_values() {
        let pairs = vec![("H".to_string(), 2usize), ("H".to_string(), 4)];
        assert_eq!(
            unique("--dim", &pairs).unwrap_err(),
            "--dim H is given twice (H=2 and H=4); give it once"
        );
        let one = unique("--dim", &pairs[..1]).unwrap();
        assert_eq!(one["H"], 2);
        assert_eq!(dim(" H = 3"), Ok(("H".to_string(), 3)));
        assert!(dim("=3").is_err() && dim("H=0").is_err());
        assert_eq!(constant("slope=0.1"), Ok(("slope".to_string(), 0.1)));
        assert!(constant("slope=inf").unwrap_err().contains("`slope`"));
    }
}
