//! Real builds through the cache with a crate that depends on nothing, so each takes seconds:
//! build, publish, hit; two concurrent first uses; a failing build; an unusable cache folder.
//! Every cache lives in a temporary folder of its own, never in the user's cache.

use gatgrad_ondemand::{Cache, CrateKind, CrateTemplate, Entry, Error, Event, Request, Toolchain};
use std::path::Path;
use std::time::Instant;

const MAIN_RS: &str = r#"fn main() {
    let gat = include_str!("../model.gat");
    println!("generated main, program of {} bytes", gat.len());
}
"#;
const GAT: &str = "layer l { dims F; input x[n: node, f: F]; output x; }";

fn request<'a>(template: &'a CrateTemplate, main_rs: &'a str) -> Request<'a> {
    Request {
        what: "tiny.gat",
        canonical_text: GAT,
        gat_files: &[("model.gat", GAT)],
        main_rs,
        template,
    }
}

fn toolchain() -> Toolchain {
    Toolchain::find().expect("the tests run under cargo, so a toolchain is there")
}

/// The names in `dir` (sorted), or nothing if it does not exist.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn run(entry: &Entry) -> String {
    let out = entry
        .command()
        .output()
        .expect("the entry's executable runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_build_is_published_and_then_found() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("cache"));
    let toolchain = toolchain();
    let template = CrateTemplate::standalone("");
    let mut events = Vec::new();
    let entry = cache
        .get_or_build(&request(&template, MAIN_RS), &toolchain, &mut |e| {
            events.push(e)
        })
        .unwrap();
    assert!(entry.built);
    assert_eq!(
        events.first(),
        Some(&Event::Compiling {
            what: "tiny.gat".to_string()
        })
    );
    assert!(matches!(events.last(), Some(Event::Done { seconds }) if *seconds > 0.0));
    assert!(events.iter().any(
        |e| matches!(e, Event::Cargo { line } if line.starts_with("Compiling gatgrad-generated-"))
    ));
    assert_eq!(
        run(&entry),
        format!("generated main, program of {} bytes\n", GAT.len())
    );

    let root = cache.root();
    assert_eq!(names(&root.join("entries")), [entry.key.to_string()]);
    assert!(
        names(&root.join("tmp")).is_empty(),
        "no build folder is left"
    );
    assert_eq!(
        names(&entry.dir),
        ["bin", "build.log", "crate", "manifest.txt"]
    );
    assert_eq!(
        std::fs::read_to_string(entry.dir.join("crate/model.gat")).unwrap(),
        GAT
    );
    let manifest = std::fs::read_to_string(entry.dir.join("manifest.txt")).unwrap();
    assert!(manifest.starts_with(&format!("key = {}\nwhat = tiny.gat\n", entry.key)));
    assert!(root.join("CACHEDIR.TAG").is_file());
    // The program's own executable does not stay in the shared target folder.
    let release = names(&cache.target_dir().join("release"));
    assert!(
        !release.iter().any(|n| n.starts_with("gatgrad-generated-")),
        "{release:?}"
    );

    let start = Instant::now();
    let toolchain = Toolchain::find().unwrap();
    let hit = cache
        .get_or_build(&request(&template, MAIN_RS), &toolchain, &mut |e| {
            panic!("a cache hit reports nothing, got {e:?}")
        })
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert!(!hit.built);
    assert_eq!(hit.key, entry.key);
    assert_eq!(hit.artifact, entry.artifact);
    assert!(seconds < 1.0, "a hit took {seconds} s");

    // Another main.rs is another entry; the first stays.
    let other_main = MAIN_RS.replace("generated main", "other main");
    let other = cache
        .get_or_build(&request(&template, &other_main), &toolchain, &mut |_| {})
        .unwrap();
    assert!(other.built);
    assert_ne!(other.key, entry.key);
    assert_eq!(names(&root.join("entries")).len(), 2);
    assert!(run(&other).starts_with("other main"));
    assert!(run(&entry).starts_with("generated main"));
}

#[test]
fn two_concurrent_first_uses_both_succeed_and_leave_one_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("cache"));
    let toolchain = toolchain();
    let template = CrateTemplate::standalone("");
    let main_rs = MAIN_RS.replace("generated main", "raced main");
    let (a, b) = std::thread::scope(|s| {
        let first =
            s.spawn(|| cache.get_or_build(&request(&template, &main_rs), &toolchain, &mut |_| {}));
        let second =
            s.spawn(|| cache.get_or_build(&request(&template, &main_rs), &toolchain, &mut |_| {}));
        (first.join().unwrap(), second.join().unwrap())
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.built != b.built,
        "exactly one of them published its build"
    );
    assert_eq!(a.key, b.key);
    assert_eq!(a.artifact, b.artifact);
    assert_eq!(names(&cache.root().join("entries")), [a.key.to_string()]);
    assert!(names(&cache.root().join("tmp")).is_empty());
    assert!(run(&a).starts_with("raced main"));
    let found = cache.lookup(&a.key).expect("the entry is valid");
    assert!(!found.built);
}

#[test]
fn a_failing_build_is_a_gatgrad_bug_with_the_paths_to_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("cache"));
    let template = CrateTemplate::standalone("");
    let broken = "fn main() {\n    let n: u32 = \"not a number\";\n}\n";
    let err = cache
        .get_or_build(&request(&template, broken), &toolchain(), &mut |_| {})
        .unwrap_err();
    let Error::BuildFailed { source, log, .. } = &err else {
        panic!("expected a build failure, got {err}");
    };
    assert_eq!(std::fs::read_to_string(source).unwrap(), broken);
    let log_text = std::fs::read_to_string(log).unwrap();
    assert!(log_text.contains("error[E0308]"), "{log_text}");
    let failed = cache
        .root()
        .join("failed")
        .join(names(&cache.root().join("failed"))[0].as_str());
    assert_eq!(
        err.to_string(),
        format!(
            "gatgrad bug: the generated code for tiny.gat does not compile; please report it with \
             the generated source {} and the cargo log {}",
            failed.join("crate/src/main.rs").display(),
            failed.join("build.log").display()
        )
    );
    assert!(names(&cache.root().join("entries")).is_empty());
    assert!(names(&cache.root().join("tmp")).is_empty());
}

#[test]
fn a_relative_cache_folder_is_made_absolute() {
    let cache = Cache::at("relative/cache");
    assert!(cache.root().is_absolute());
    assert!(cache.root().ends_with("relative/cache"));
    assert!(cache.target_dir().is_absolute());
}

#[test]
fn the_shared_target_folder_can_be_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("cache")).with_target_dir(tmp.path().join("shared"));
    assert_eq!(cache.target_dir(), tmp.path().join("shared"));
    let template = CrateTemplate::standalone("");
    let entry = cache
        .get_or_build(&request(&template, MAIN_RS), &toolchain(), &mut |_| {})
        .unwrap();
    assert!(entry.built);
    assert!(run(&entry).starts_with("generated main"));
    // cargo worked in the folder named; the cache made no target folder of its own.
    assert!(tmp.path().join("shared/release").is_dir());
    assert!(!cache.root().join("target").exists());
    assert_eq!(
        names(&cache.root().join("entries")),
        [entry.key.to_string()]
    );
}

#[test]
fn a_cache_folder_that_cannot_be_created_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let cache = Cache::at(file.join("cache"));
    let template = CrateTemplate::standalone("");
    let err = cache
        .get_or_build(&request(&template, MAIN_RS), &toolchain(), &mut |_| {})
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::CacheDir { .. }), "{message}");
    assert_eq!(
        message,
        format!(
            "cannot use the cache folder {}: Not a directory (os error 20); set \
             GATGRAD_CACHE_DIR to a writable folder",
            file.join("cache").join("entries").display()
        )
    );
}

#[test]
fn a_library_template_builds_a_loadable_library_with_its_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("cache"));
    let toolchain = toolchain();
    // The crate reads the template's environment at compile time, so the library proves both
    // that it was built as a cdylib and that the variable reached cargo.
    let lib_rs = "#[no_mangle]\npub extern \"C\" fn gatgrad_answer() -> u32 {\n    \
                  env!(\"GATGRAD_TEST_VALUE\").len() as u32\n}\n";
    let mut template = CrateTemplate::standalone("");
    template.kind = CrateKind::Library;
    template.env = vec![("GATGRAD_TEST_VALUE".into(), "seven77".into())];
    let entry = cache
        .get_or_build(&request(&template, lib_rs), &toolchain, &mut |_| {})
        .unwrap();
    assert!(entry.built);
    let file = entry
        .artifact
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        file,
        format!(
            "{}model{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        )
    );
    assert!(entry.artifact.is_file());
    assert!(entry.dir.join("crate/src/lib.rs").is_file());
    let bytes = std::fs::read(&entry.artifact).unwrap();
    assert!(
        bytes.windows(14).any(|w| w == b"gatgrad_answer"),
        "the library exports its symbol"
    );
    let release = names(&cache.target_dir().join("release"));
    assert!(
        !release.iter().any(|n| n.contains("gatgrad_generated_")),
        "{release:?}"
    );
    // Found again; another environment, or the same crate as an executable, is another entry.
    let hit = cache
        .get_or_build(&request(&template, lib_rs), &toolchain, &mut |_| {})
        .unwrap();
    assert!(!hit.built && hit.artifact == entry.artifact);
    let mut other_env = template.clone();
    other_env.env[0].1 = "eight888".into();
    assert_ne!(
        cache.key(&request(&other_env, lib_rs), &toolchain),
        entry.key
    );
    let mut other_fact = template.clone();
    other_fact.facts = vec![("python".into(), "3.13".into())];
    assert_ne!(
        cache.key(&request(&other_fact, lib_rs), &toolchain),
        entry.key
    );
    let mut executable = template.clone();
    executable.kind = CrateKind::Executable;
    assert_ne!(
        cache.key(&request(&executable, lib_rs), &toolchain),
        entry.key
    );
}
