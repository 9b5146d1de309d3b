//! Random edits of `.gat` text.

use crate::rng::Rng;
use crate::text::TOKENS;

/// One to four random edits of `text`; `donors` give spans to splice in.
pub fn mutate_text(rng: &mut Rng, text: &str, donors: &[(String, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let rounds = rng.range(1, 5);
    for _ in 0..rounds {
        let len = chars.len();
        let span = |rng: &mut Rng, len: usize| {
            let a = rng.below(len + 1);
            let max = if rng.chance(1, 4) { 200 } else { 12 };
            let b = (a + rng.below(max + 1)).min(len);
            (a, b)
        };
        match rng.below(10) {
            0 => {
                let (a, b) = span(rng, len);
                chars.drain(a..b);
            }
            1 => {
                let at = rng.below(len + 1);
                let piece: Vec<char> = if rng.chance(1, 2) {
                    rng.pick(TOKENS).chars().collect()
                } else {
                    // A span from another file.
                    let (_, donor) = rng.pick(donors);
                    let d: Vec<char> = donor.chars().collect();
                    let (a, b) = span(rng, d.len());
                    d[a..b].to_vec()
                };
                chars.splice(at..at, piece);
            }
            2 => {
                let (a, b) = span(rng, len);
                let piece: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars.splice(a..b, piece);
            }
            3 => {
                // Duplicate a span in place.
                let (a, b) = span(rng, len);
                let piece = chars[a..b].to_vec();
                chars.splice(b..b, piece);
            }
            4 | 5 => {
                // Swap, delete or duplicate whole lines.
                let s: String = chars.iter().collect();
                let mut lines: Vec<String> = s.split_inclusive('\n').map(String::from).collect();
                if !lines.is_empty() {
                    let i = rng.below(lines.len());
                    let j = rng.below(lines.len());
                    match rng.below(3) {
                        0 => lines.swap(i, j),
                        1 => {
                            lines.remove(i);
                        }
                        _ => {
                            let l = lines[i].clone();
                            lines.insert(j, l);
                        }
                    }
                }
                chars = lines.concat().chars().collect();
            }
            6 => {
                // Replace one identifier-like word by another word of the file.
                let s: String = chars.iter().collect();
                let words: Vec<&str> = s
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .collect();
                if words.len() >= 2 {
                    let from = rng.pick(&words).to_string();
                    let to = rng.pick(&words).to_string();
                    let count = s.matches(from.as_str()).count();
                    let nth = rng.below(count.max(1));
                    let mut out = String::new();
                    let mut rest = s.as_str();
                    let mut seen = 0;
                    while let Some(p) = rest.find(from.as_str()) {
                        out.push_str(&rest[..p]);
                        out.push_str(if seen == nth { &to } else { &from });
                        rest = &rest[p + from.len()..];
                        seen += 1;
                    }
                    out.push_str(rest);
                    chars = out.chars().collect();
                }
            }
            7 => {
                // Change a number.
                let positions: Vec<usize> =
                    (0..len).filter(|&i| chars[i].is_ascii_digit()).collect();
                if !positions.is_empty() {
                    let at = *rng.pick(&positions);
                    let replacement: Vec<char> = rng
                        .pick(&[
                            "0",
                            "9",
                            "1e999",
                            "-1",
                            "00",
                            "99999999999999999999",
                            "0.0",
                            ".",
                            "e",
                        ])
                        .chars()
                        .collect();
                    chars.splice(at..at + 1, replacement);
                }
            }
            8 => {
                // Delete or insert a single bracket-like character.
                let brackets = ['(', ')', '[', ']', '{', '}', ';', ',', '"', '<', '-', '>'];
                let positions: Vec<usize> =
                    (0..len).filter(|&i| brackets.contains(&chars[i])).collect();
                if rng.chance(1, 2) && !positions.is_empty() {
                    chars.remove(*rng.pick(&positions));
                } else {
                    let at = rng.below(len + 1);
                    chars.insert(at, *rng.pick(&brackets));
                }
            }
            _ => {
                // Truncate.
                let at = rng.below(len + 1);
                chars.truncate(at);
            }
        }
    }
    chars.into_iter().collect()
}
