//! Catching panics quietly, remembering where they happened: a panic inside [`guarded`] is not
//! printed but recorded with its location (the innermost frame of this workspace when it
//! happened inside the standard library) and the workspace frames of its backtrace.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Installs (once) the hook that records panics inside [`guarded`] instead of printing them.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "<unknown>".into());
                let backtrace = std::backtrace::Backtrace::force_capture().to_string();
                // Keep the frames of this workspace only: enough to locate the bug.
                let mut frames = Vec::new();
                let mut lines = backtrace.lines().peekable();
                while let Some(line) = lines.next() {
                    let t = line.trim();
                    if t.contains("gatgrad") && !t.contains("fuzz::") && !t.starts_with("at ") {
                        let at = lines
                            .peek()
                            .map(|l| l.trim())
                            .filter(|l| l.starts_with("at "))
                            .unwrap_or("");
                        frames.push(format!("    {t} {at}"));
                    }
                }
                // A panic inside the standard library (an overflow in `Iterator::product`, an
                // allocation failure) is attributed to the innermost workspace frame instead.
                let location = match frames.first() {
                    Some(frame) if location.starts_with("/rustc/") => frame
                        .split_once(" at ")
                        .map_or(location.clone(), |(_, at)| at.trim().to_string()),
                    _ => location,
                };
                let report = if frames.is_empty() {
                    info.to_string()
                } else {
                    format!("{info}\n  frames:\n{}", frames.join("\n"))
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, report)));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err((location, message))`.
pub fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, (String, String)> {
    QUIET.with(|q| q.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                ("<unknown>".into(), msg)
            })
    })
}
