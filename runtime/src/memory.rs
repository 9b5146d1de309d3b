//! How much memory this process may still allocate, and the one check every size read from a
//! file or an argument passes before it becomes an allocation.
//!
//! [`available`] is the tightest of: the machine's `MemAvailable` (`/proc/meminfo`), the memory
//! limit of this process's cgroup (`memory.max` minus `memory.current`, v2, or the v1
//! equivalents), the address-space and data-size limits (`ulimit -v`, `ulimit -d`, read from
//! `/proc/self/limits`) minus what this process already uses, and the
//! [`GATGRAD_MEMORY_LIMIT`](LIMIT_VAR) setting. These are only read, never changed.
//!
//! [`reserve`] compares a planned size with it and refuses, in one line, what does not fit:
//!
//! ```text
//! the dense feature matrix of `big` ([40, 100000000] f64) needs 32.0 GB, this machine has 21.3 GB available
//! ```
//!
//! Sizes are computed in `u128` with saturating arithmetic ([`bytes_of`]), so a product of
//! claimed sizes never overflows: it saturates and is refused.

use crate::error::DataError;

/// The environment variable that caps the memory gatgrad plans to use, in bytes or with a
/// suffix `K`, `M`, `G` or `T` (powers of 1024), e.g. `GATGRAD_MEMORY_LIMIT=8G`.
pub const LIMIT_VAR: &str = "GATGRAD_MEMORY_LIMIT";

/// Planned sizes below this always pass [`reserve`] without reading any limit: the check is
/// there to catch claimed sizes, not to account for the last megabyte.
pub const ALWAYS_FITS: u128 = 16 << 20;

/// Which limit bounds [`available`] memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The machine's available memory (`MemAvailable` in `/proc/meminfo`).
    Machine,
    /// The memory limit of this process's cgroup.
    Cgroup,
    /// The address-space limit (`ulimit -v`, `RLIMIT_AS`).
    AddressSpace,
    /// The data-segment limit (`ulimit -d`, `RLIMIT_DATA`).
    DataSize,
    /// The [`LIMIT_VAR`] setting.
    Setting,
    /// Nothing could be read; the bound is the largest allocation Rust can make.
    Unknown,
}

/// Memory this process may still allocate, and what limits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// The limit that gave [`bytes`](Self::bytes).
    pub limit: Limit,
}

/// `elem_bytes · Π counts`, saturating at `u128::MAX` (which no machine has, so a saturated size
/// is always refused).
pub fn bytes_of(counts: &[usize], elem_bytes: usize) -> u128 {
    counts
        .iter()
        .fold(elem_bytes as u128, |acc, &c| acc.saturating_mul(c as u128))
}

/// The memory this process may still allocate (see the module documentation). Errors only when
/// [`LIMIT_VAR`] is set to something that is not a size.
pub fn available() -> Result<Available, DataError> {
    let setting = match std::env::var(LIMIT_VAR) {
        Ok(text) => Some(parse_size(&text).ok_or_else(|| {
            DataError::new(format!(
                "{LIMIT_VAR}: `{text}` is not a size; use bytes or a number with K, M, G or T, e.g. 8G"
            ))
        })?),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(DataError::new(format!(
                "{LIMIT_VAR}: not valid UTF-8; use bytes or a number with K, M, G or T, e.g. 8G"
            )))
        }
    };
    Ok(Probe::read().tightest(setting))
}

/// Errors unless `bytes` fit in the [`available`] memory: ``{what} needs 32.0 GB, this machine
/// has 21.3 GB available``. `what` names the allocation and where its size came from.
pub fn reserve(what: &str, bytes: u128) -> Result<(), DataError> {
    if bytes < ALWAYS_FITS {
        return Ok(());
    }
    let avail = available()?;
    if bytes <= avail.bytes as u128 {
        Ok(())
    } else {
        Err(refusal(what, bytes, avail))
    }
}

/// The one-line message of a refused [`reserve`].
pub fn refusal(what: &str, bytes: u128, avail: Available) -> DataError {
    let why = match avail.limit {
        Limit::Machine => "",
        Limit::Cgroup => " under its cgroup's memory limit",
        Limit::AddressSpace => " under the address-space limit (ulimit -v)",
        Limit::DataSize => " under the data-size limit (ulimit -d)",
        Limit::Setting => " under GATGRAD_MEMORY_LIMIT",
        Limit::Unknown => " at most (its memory could not be read)",
    };
    DataError::new(format!(
        "{what} needs {}, this machine has {} available{why}",
        format_bytes(bytes),
        format_bytes(avail.bytes as u128)
    ))
}

/// A size for people: `512 bytes`, `1.5 KB`, `32.0 GB` (powers of 1000), `3.4e38 bytes` beyond
/// exabytes.
pub fn format_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    for unit in UNITS {
        value /= 1000.0;
        // Below 999.95 the value still prints with one decimal in this unit.
        if value < 999.95 {
            return format!("{value:.1} {unit}");
        }
    }
    format!("{:.1e} bytes", bytes as f64)
}

/// Parses `123`, `64K`, `512M`, `8G`, `1T` (optionally with a trailing `B` or `iB`, any case)
/// as bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t
        .strip_suffix("IB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(&t);
    let (digits, shift) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 10),
        'M' => (&t[..t.len() - 1], 20),
        'G' => (&t[..t.len() - 1], 30),
        'T' => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// The texts of the files [`available`] reads (`None`: absent or unreadable).
#[derive(Default, Debug)]
struct Probe {
    /// `/proc/meminfo`.
    meminfo: Option<String>,
    /// `/proc/self/status` (for `VmSize` and `VmData`).
    status: Option<String>,
    /// `/proc/self/limits`.
    limits: Option<String>,
    /// `(limit, usage)` of this process's cgroup and each of its ancestors, as text.
    cgroups: Vec<(String, String)>,
}

impl Probe {
    fn read() -> Probe {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let mut cgroups = Vec::new();
        // cgroup v2: `0::/path` in /proc/self/cgroup; limits may be set on any ancestor.
        if let Some(path) = read("/proc/self/cgroup")
            .as_deref()
            .and_then(cgroup_v2_path)
        {
            let mut dir = format!("/sys/fs/cgroup{}", path.trim_end_matches('/'));
            loop {
                if let (Some(max), Some(cur)) = (
                    read(&format!("{dir}/memory.max")),
                    read(&format!("{dir}/memory.current")),
                ) {
                    cgroups.push((max, cur));
                }
                match dir.rfind('/') {
                    Some(k) if k >= "/sys/fs/cgroup".len() => dir.truncate(k),
                    _ => break,
                }
            }
        }
        // cgroup v1.
        if let (Some(max), Some(cur)) = (
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            read("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ) {
            cgroups.push((max, cur));
        }
        Probe {
            meminfo: read("/proc/meminfo"),
            status: read("/proc/self/status"),
            limits: read("/proc/self/limits"),
            cgroups,
        }
    }

    /// The tightest bound the probed texts and `setting` give.
    fn tightest(&self, setting: Option<u64>) -> Available {
        let mut best = Available {
            bytes: isize::MAX as u64,
            limit: Limit::Unknown,
        };
        let mut consider = |bytes: Option<u64>, limit: Limit| {
            if let Some(bytes) = bytes {
                if best.limit == Limit::Unknown || bytes < best.bytes {
                    best = Available {
                        bytes: bytes.min(isize::MAX as u64),
                        limit,
                    };
                }
            }
        };
        consider(
            self.meminfo
                .as_deref()
                .and_then(|m| kib_field(m, "MemAvailable:")),
            Limit::Machine,
        );
        for (max, cur) in &self.cgroups {
            if let (Some(max), Some(cur)) = (cgroup_number(max), cgroup_number(cur)) {
                consider(Some(max.saturating_sub(cur)), Limit::Cgroup);
            }
        }
        let status = self.status.as_deref().unwrap_or("");
        let limits = self.limits.as_deref().unwrap_or("");
        for (row, used, limit) in [
            ("Max address space", "VmSize:", Limit::AddressSpace),
            ("Max data size", "VmData:", Limit::DataSize),
        ] {
            if let Some(max) = soft_limit(limits, row) {
                let used = kib_field(status, used).unwrap_or(0);
                consider(Some(max.saturating_sub(used)), limit);
            }
        }
        consider(setting, Limit::Setting);
        best
    }
}

/// The value of a `Key:   123 kB` line, in bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The soft limit in bytes of a `/proc/self/limits` row (`None` when unlimited).
fn soft_limit(limits: &str, row: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(row))?;
    line[row.len()..].split_whitespace().next()?.parse().ok()
}

/// A cgroup memory file's number; `max` (v2) and v1's "no limit" (near `i64::MAX`) are `None`.
fn cgroup_number(text: &str) -> Option<u64> {
    let n: u64 = text.trim().parse().ok()?;
    (n < 1 << 62).then_some(n)
}

/// The cgroup v2 path of this process (the `0::/path` line of `/proc/self/cgroup`).
fn cgroup_v2_path(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|p| p.starts_with('/') && !p.contains(".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24000000 kB\nMemFree:        20000000 kB\n\
                           MemAvailable:   20812500 kB\nBuffers:          100000 kB\n";
    const LIMITS_UNLIMITED: &str = "\
Limit                     Soft Limit           Hard Limit           Units
Max data size             unlimited            unlimited            bytes
Max address space         unlimited            unlimited            bytes
";
    const LIMITS_3G: &str = "\
Limit                     Soft Limit           Hard Limit           Units
Max data size             unlimited            unlimited            bytes
Max address space         3221225472           unlimited            bytes
";
    const STATUS: &str = "Name:\tgatgrad\nVmPeak:\t  300000 kB\nVmSize:\t  102400 kB\n\
                          VmData:\t   51200 kB\n";

    fn probe(limits: &str) -> Probe {
        Probe {
            meminfo: Some(MEMINFO.into()),
            status: Some(STATUS.into()),
            limits: Some(limits.into()),
            cgroups: Vec::new(),
        }
    }

    #[test]
    fn machine_memory_without_limits() {
        let a = probe(LIMITS_UNLIMITED).tightest(None);
        assert_eq!(
            a,
            Available {
                bytes: 20_812_500 * 1024,
                limit: Limit::Machine
            }
        );
        assert_eq!(format_bytes(a.bytes as u128), "21.3 GB");
    }

    #[test]
    fn address_space_limit_minus_what_is_mapped() {
        let a = probe(LIMITS_3G).tightest(None);
        assert_eq!(
            a,
            Available {
                bytes: 3_221_225_472 - 102_400 * 1024,
                limit: Limit::AddressSpace
            }
        );
        // A data-size limit counts against the data segment.
        let limits = LIMITS_UNLIMITED.replace(
            "Max data size             unlimited",
            "Max data size             1073741824",
        );
        let a = probe(&limits).tightest(None);
        assert_eq!(
            (a.bytes, a.limit),
            (1_073_741_824 - 51_200 * 1024, Limit::DataSize)
        );
    }

    #[test]
    fn cgroup_limits_and_the_setting_lower_it() {
        let mut p = probe(LIMITS_3G);
        p.cgroups = vec![
            ("max\n".into(), "123\n".into()),
            ("2147483648\n".into(), "1073741824\n".into()),
            // cgroup v1's "no limit".
            ("9223372036854771712\n".into(), "5\n".into()),
        ];
        assert_eq!(
            p.tightest(None),
            Available {
                bytes: 1 << 30,
                limit: Limit::Cgroup
            }
        );
        assert_eq!(
            p.tightest(Some(1000)),
            Available {
                bytes: 1000,
                limit: Limit::Setting
            }
        );
        // Usage above the limit leaves nothing.
        p.cgroups = vec![("100\n".into(), "200\n".into())];
        assert_eq!(p.tightest(None).bytes, 0);
    }

    #[test]
    fn nothing_readable_is_unknown() {
        let a = Probe::default().tightest(None);
        assert_eq!(a.limit, Limit::Unknown);
        assert_eq!(a.bytes, isize::MAX as u64);
        // Garbage files are ignored.
        let p = Probe {
            meminfo: Some("MemAvailable: lots kB".into()),
            status: Some("VmSize: ?".into()),
            limits: Some("Max address space  nope".into()),
            cgroups: vec![("x".into(), "y".into())],
        };
        assert_eq!(p.tightest(None).limit, Limit::Unknown);
    }

    #[test]
    fn cgroup_path_is_parsed() {
        assert_eq!(
            cgroup_v2_path("12:cpu:/x\n0::/user.slice/session-1.scope\n"),
            Some("/user.slice/session-1.scope")
        );
        assert_eq!(cgroup_v2_path("0::/\n"), Some("/"));
        assert_eq!(cgroup_v2_path("0::/../etc\n"), None);
        assert_eq!(cgroup_v2_path("4:memory:/docker/abc\n"), None);
    }

    #[test]
    fn the_live_probe_reads_something() {
        // On Linux at least the machine's memory is known.
        if std::path::Path::new("/proc/meminfo").exists() {
            let a = Probe::read().tightest(None);
            assert_ne!(a.limit, Limit::Unknown);
            assert!(a.bytes > 0);
        }
    }

    #[test]
    fn sizes_saturate_instead_of_overflowing() {
        assert_eq!(bytes_of(&[40, 100_000_000], 8), 32_000_000_000);
        assert_eq!(bytes_of(&[], 4), 4);
        assert_eq!(bytes_of(&[3, 0, usize::MAX], 8), 0);
        assert_eq!(
            bytes_of(&[usize::MAX, usize::MAX, usize::MAX], 8),
            u128::MAX
        );
    }

    #[test]
    fn sizes_are_formatted_for_people() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(999), "999 bytes");
        assert_eq!(format_bytes(1000), "1.0 KB");
        assert_eq!(format_bytes(1_500), "1.5 KB");
        assert_eq!(format_bytes(999_949), "999.9 KB");
        assert_eq!(format_bytes(999_950), "1.0 MB");
        assert_eq!(format_bytes(32_000_000_000), "32.0 GB");
        assert_eq!(format_bytes(2_500_000_000_000_000_000), "2.5 EB");
        assert_eq!(format_bytes(u128::MAX), "3.4e38 bytes");
    }

    #[test]
    fn size_settings_parse() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size(" 64k "), Some(64 << 10));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("8GiB"), Some(8 << 30));
        assert_eq!(parse_size("8gb"), Some(8 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        for bad in ["", "G", "-1G", "1.5G", "lots", "99999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn refusals_say_what_needs_how_much_and_what_there_is() {
        let avail = Available {
            bytes: 21_300_000_000,
            limit: Limit::Machine,
        };
        assert_eq!(
            refusal("the dense feature matrix", 32_000_000_000, avail).to_string(),
            "the dense feature matrix needs 32.0 GB, this machine has 21.3 GB available"
        );
        let avail = Available {
            bytes: 3_000_000_000,
            limit: Limit::AddressSpace,
        };
        assert_eq!(
            refusal("x", u128::MAX, avail).to_string(),
            "x needs 3.4e38 bytes, this machine has 3.0 GB available under the address-space \
             limit (ulimit -v)"
        );
        // Small sizes pass without looking; impossible ones never do.
        assert!(reserve("a little", 1000).is_ok());
        assert!(reserve("everything", u128::MAX).is_err());
    }
}
