//! Unit tests of tensor files: round trips, corrupt files, limits, bounded reads of FIFOs.

use super::*;

fn bytes_of(tensors: &[(String, Vec<usize>, TensorData)]) -> Vec<u8> {
    let mut meta = HashMap::new();
    meta.insert("name".to_string(), "t".to_string());
    serialize_tensors(tensors, Some(meta)).expect("serializes")
}

fn sample() -> Vec<(String, Vec<usize>, TensorData)> {
    vec![
        (
            "w".into(),
            vec![2, 3],
            TensorData::F64(vec![1., 2., 3., 4., 5., 6.]),
        ),
        ("h".into(), vec![3], TensorData::F32(vec![0.5, 1.5, 2.5])),
        ("idx".into(), vec![2, 2], TensorData::I64(vec![0, 1, -1, 7])),
        ("m".into(), vec![3], TensorData::U8(vec![1, 0, 1])),
    ]
}

#[test]
fn round_trip_and_conversions() {
    let f = TensorFile::from_bytes("t.safetensors", bytes_of(&sample())).unwrap();
    assert_eq!(f.names(), vec!["h", "idx", "m", "w"]);
    assert!(f.has("w") && !f.has("zz"));
    assert_eq!(f.shape("w").unwrap(), &[2, 3]);
    assert_eq!(f.dtype("idx").unwrap(), "I64");
    assert_eq!(f.metadata().unwrap()["name"], "t");
    let w = f.f64("w").unwrap();
    assert_eq!(w.data, vec![1., 2., 3., 4., 5., 6.]);
    w.expect_shape("w", &[Some(2), None]).unwrap();
    assert_eq!(
        w.expect_shape("w", &[Some(3), None])
            .unwrap_err()
            .to_string(),
        "tensor `w`: expected shape [3, _], found [2, 3]"
    );
    assert_eq!(f.f64("h").unwrap().data, vec![0.5, 1.5, 2.5]);
    assert_eq!(f.f32("w").unwrap().data[5], 6.0);
    assert_eq!(f.i64("idx").unwrap().data, vec![0, 1, -1, 7]);
    assert_eq!(f.mask("m").unwrap(), vec![true, false, true]);
    assert_eq!(
        f.f64("idx").unwrap_err().to_string(),
        "tensor `idx`: expected dtype F64 or F32, found I64"
    );
    assert_eq!(
        f.mask("idx").unwrap_err().to_string(),
        "tensor `idx`: value -1 at [1, 0] is not 0 or 1"
    );
    assert_eq!(
        f.i64("param.att").unwrap_err().to_string(),
        "missing tensor `param.att`"
    );
    for (name, _, data) in sample() {
        assert_eq!(f.data(&name).unwrap(), data, "{name}");
    }
}

#[test]
fn non_finite_values_are_located() {
    let t = vec![(
        "x".to_string(),
        vec![4, 2],
        TensorData::F32(vec![0., 0., 0., 0., 0., 0., f32::NAN, 0.]),
    )];
    let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
    assert_eq!(
        f.f64("x").unwrap_err().to_string(),
        "tensor `x`: contains NaN at [3, 0]"
    );
    let t = vec![(
        "y".to_string(),
        vec![2],
        TensorData::F64(vec![1.0, f64::NEG_INFINITY]),
    )];
    let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
    assert_eq!(
        f.f64("y").unwrap_err().to_string(),
        "tensor `y`: contains -inf at [1]"
    );
    let t = vec![("z".to_string(), vec![1], TensorData::F64(vec![1e300]))];
    let f = TensorFile::from_bytes("t", bytes_of(&t)).unwrap();
    assert_eq!(
        f.f32("z").unwrap_err().to_string(),
        "tensor `z`: contains inf at [0]"
    );
}

#[test]
fn corrupt_files_are_rejected() {
    let good = bytes_of(&sample());
    let short = TensorFile::from_bytes("a.safetensors", good[..5].to_vec()).unwrap_err();
    assert!(short
        .to_string()
        .starts_with("file `a.safetensors`: not a valid safetensors file"));

    let mut big = good.clone();
    big[..8].copy_from_slice(&99_999_999u64.to_le_bytes());
    big.truncate(120);
    assert_eq!(
        TensorFile::from_bytes("foo.safetensors", big).unwrap_err().to_string(),
        "file `foo.safetensors`: not a valid safetensors file (header length 99999999 exceeds file size 120)"
    );

    let truncated = TensorFile::from_bytes("t", good[..good.len() - 3].to_vec()).unwrap_err();
    assert!(truncated.to_string().contains("truncated"), "{truncated}");

    let mut padded = good.clone();
    padded.extend([0u8; 8]);
    let padded = TensorFile::from_bytes("t", padded).unwrap_err();
    assert!(padded.to_string().contains("follow the header"), "{padded}");

    let mut garbage = good.clone();
    garbage[8] = b'#';
    let garbage = TensorFile::from_bytes("t", garbage).unwrap_err();
    assert!(garbage.to_string().contains("not valid JSON"), "{garbage}");

    // Absurd offsets must be an error, not an arithmetic overflow.
    let header = format!(
        "{{\"a\":{{\"dtype\":\"U8\",\"shape\":[{}],\"data_offsets\":[0,{}]}}}}",
        usize::MAX,
        usize::MAX
    );
    let mut evil = (header.len() as u64).to_le_bytes().to_vec();
    evil.extend(header.as_bytes());
    assert!(TensorFile::from_bytes("t", evil).is_err());

    let missing = TensorFile::load("/nonexistent/dir/x.safetensors").unwrap_err();
    assert!(missing
        .to_string()
        .starts_with("file `/nonexistent/dir/x.safetensors`: cannot read"));
}

/// A scratch directory removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("gatgrad-rd-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A header of `n` empty tensors.
fn empty_tensors(n: usize) -> Vec<u8> {
    let entries: Vec<String> = (0..n)
        .map(|k| format!("\"t{k}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"))
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes
}

#[test]
fn headers_and_tensor_counts_are_capped() {
    let ok = TensorFile::from_bytes("t", empty_tensors(3)).unwrap();
    assert_eq!(ok.names().len(), 3);
    assert_eq!(
        TensorFile::from_bytes("t", empty_tensors(MAX_TENSORS + 1))
            .unwrap_err()
            .to_string(),
        "file `t`: holds 100001 tensors, more than the 100000 this reader accepts"
    );
    // A header over the limit is refused by its length alone.
    let mut long = (MAX_HEADER_BYTES + 1).to_le_bytes().to_vec();
    long.resize(MAX_HEADER_BYTES as usize + 9, b' ');
    assert_eq!(
        TensorFile::from_bytes("t", long).unwrap_err().to_string(),
        "file `t`: not a valid safetensors file (a header of 16.0 MB is over the 16.0 MB this reader accepts)"
    );
}

#[test]
fn loading_reads_no_more_than_the_file_holds() {
    let dir = Scratch::new("load");
    // A regular file larger than any machine's memory is not read (a sparse file: no disk used).
    let huge = dir.0.join("huge.safetensors");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(1 << 43).unwrap();
    let err = TensorFile::load(&huge).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("reading `{}` needs 8.8 TB", huge.display())),
        "{err}"
    );
    // A header length over the limit is refused after 8 bytes, even before the file's end.
    let mut long = (u64::MAX / 2).to_le_bytes().to_vec();
    long.extend([b'{'; 100]);
    std::fs::write(&huge, &long).unwrap();
    let err = TensorFile::load(&huge).unwrap_err().to_string();
    assert!(err.contains("exceeds file size 108"), "{err}");
    let dir_err = TensorFile::load(&dir.0).unwrap_err().to_string();
    assert!(
        dir_err.ends_with("is a directory, not a safetensors file"),
        "{dir_err}"
    );
}

#[test]
fn a_fifo_is_read_to_the_end_its_header_declares() {
    use std::io::Write as _;
    let dir = Scratch::new("fifo");
    let fifo = dir.0.join("in.safetensors");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.map(|s| s.success()).unwrap_or(false) {
        return; // no mkfifo on this system
    }
    let good = bytes_of(&sample());
    let feed = |mut bytes: Vec<u8>, endless: bool| {
        let path = fifo.clone();
        std::thread::spawn(move || {
            let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(path) else {
                return;
            };
            if w.write_all(&bytes).is_err() || !endless {
                return;
            }
            bytes.iter_mut().for_each(|b| *b = 0);
            // Endless: until the reader goes away (a broken pipe).
            while w.write_all(&bytes).is_ok() {}
        })
    };
    let writer = feed(good.clone(), false);
    let f = TensorFile::load(&fifo).unwrap();
    writer.join().unwrap();
    assert_eq!(f.f64("w").unwrap().data, vec![1., 2., 3., 4., 5., 6.]);
    // The same bytes followed by endless zeros: one byte past the declared end is enough.
    let writer = feed(good, true);
    let err = TensorFile::load(&fifo).unwrap_err().to_string();
    writer.join().unwrap();
    assert!(err.contains("follow the header"), "{err}");
}

#[test]
fn serialize_rejects_bad_input() {
    let bad = vec![("w".to_string(), vec![2, 2], TensorData::F64(vec![1.0]))];
    assert_eq!(
        serialize_tensors(&bad, None).unwrap_err().to_string(),
        "tensor `w`: shape [2, 2] does not match the 1 values given"
    );
    let twice = vec![
        ("w".to_string(), vec![1], TensorData::F64(vec![1.0])),
        ("w".to_string(), vec![1], TensorData::F64(vec![1.0])),
    ];
    assert!(serialize_tensors(&twice, None).is_err());
}

#[test]
fn write_is_atomic_and_readable() {
    let dir = std::env::temp_dir().join(format!("gatgrad-tf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.safetensors");
    write_tensors(&path, &sample(), None).unwrap();
    let f = TensorFile::load(&path).unwrap();
    assert!(f.metadata().is_none());
    assert_eq!(f.i64("idx").unwrap().shape, vec![2, 2]);
    // A failing write leaves the old file untouched and no temporary behind.
    let bad = vec![("w".to_string(), vec![3], TensorData::F64(vec![1.0]))];
    assert!(write_tensors(&path, &bad, None).is_err());
    assert!(TensorFile::load(&path).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
    // Writing into a missing directory fails cleanly.
    let err = write_tensors(dir.join("no/such/x.safetensors"), &sample(), None).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
