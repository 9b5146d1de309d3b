//! Shrinking a failing text input.

use std::time::{Duration, Instant};

/// Greedy shrinking: drop lines, then shrinking chunks of characters, while `still_fails`.
pub fn shrink_text(
    text: &str,
    budget: Duration,
    mut still_fails: impl FnMut(&str) -> bool,
) -> String {
    let start = Instant::now();
    let mut best: Vec<char> = text.chars().collect();
    // Lines first.
    let mut changed = true;
    while changed && start.elapsed() < budget {
        changed = false;
        let s: String = best.iter().collect();
        let lines: Vec<&str> = s.split_inclusive('\n').collect();
        for k in 0..lines.len() {
            if start.elapsed() >= budget {
                break;
            }
            let candidate: String = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, l)| *l)
                .collect();
            if still_fails(&candidate) {
                best = candidate.chars().collect();
                changed = true;
                break;
            }
        }
    }
    // Then chunks of characters, halving the chunk size.
    let mut chunk = (best.len() / 2).max(1);
    while chunk >= 1 && start.elapsed() < budget {
        let mut i = 0;
        let mut progressed = false;
        while i < best.len() && start.elapsed() < budget {
            let end = (i + chunk).min(best.len());
            let candidate: String = best[..i].iter().chain(&best[end..]).collect();
            if still_fails(&candidate) {
                best = candidate.chars().collect();
                progressed = true;
            } else {
                i += chunk;
            }
        }
        if !progressed {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    best.into_iter().collect()
}
