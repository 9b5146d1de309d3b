//! The neighbourhood drawing of an [`Explanation`] for the HTML report ([`super`]): the
//! explained node, its in-edges by attention and saliency, as hand-written SVG.

use super::charts::{color, FONT};
use gatgrad::diagnose::record::Explanation;
use plotters::style::RGBColor;
use std::fmt::Write;

/// Neighbours drawn around an explained node (the most salient ones).
pub const MAX_NEIGHBOURS: usize = 12;

/// Linear blend from a pale grey-blue (0) to a dark red (1).
fn saliency_color(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "rgb({},{},{})",
        lerp(190.0, 178.0),
        lerp(205.0, 24.0),
        lerp(222.0, 43.0)
    )
}

/// A pale fill for class `c`.
fn class_fill(c: usize) -> String {
    let RGBColor(r, g, b) = color(c);
    let pale = |v: u8| (f64::from(v) * 0.45 + 255.0 * 0.55).round() as u8;
    format!("rgb({},{},{})", pale(r), pale(g), pale(b))
}

/// Chart (e): the explained node in the centre, its in-neighbours on a circle (the
/// [`MAX_NEIGHBOURS`] most salient ones; the self loop as a ring around the centre). Edge width
/// grows with the attention weight α, edge colour with the saliency relative to the node's most
/// salient edge (pale: none, dark red: the most); an edge with NaN saliency is dashed grey.
/// Nodes are labelled with their id and class (`c3`) and filled by class; the centre has a green
/// border and ✓ when the prediction is correct, a red border and ✗ otherwise.
pub fn drawing(e: &Explanation) -> String {
    const WIDTH: f64 = 320.0;
    const HEIGHT: f64 = WIDTH + 20.0;
    const C: f64 = WIDTH / 2.0;
    const RADIUS: f64 = 112.0;
    let max_saliency = e
        .edges
        .iter()
        .map(|x| x.saliency)
        .filter(|s| s.is_finite())
        .fold(0.0f64, f64::max);
    let stroke = |alpha: f64, saliency: f64| {
        let width = if alpha.is_finite() {
            1.0 + 9.0 * alpha.clamp(0.0, 1.0)
        } else {
            1.0
        };
        if saliency.is_finite() {
            let t = if max_saliency > 0.0 {
                saliency / max_saliency
            } else {
                0.0
            };
            format!(
                r#"stroke="{}" stroke-width="{width:.2}""#,
                saliency_color(t)
            )
        } else {
            format!(r##"stroke="#999" stroke-width="{width:.2}" stroke-dasharray="4 3""##)
        }
    };
    let self_loop = e.edges.iter().find(|x| x.source == e.node);
    let others: Vec<_> = e.edges.iter().filter(|x| x.source != e.node).collect();
    let shown = &others[..others.len().min(MAX_NEIGHBOURS)];
    // Directions of the neighbours, half a step off the vertical: the marker goes in the gap above.
    let directions: Vec<(f64, f64)> = (0..shown.len())
        .map(|i| {
            let angle = -std::f64::consts::FRAC_PI_2
                + std::f64::consts::TAU * (i as f64 + 0.5) / shown.len() as f64;
            (angle.cos(), angle.sin())
        })
        .collect();

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}"><rect width="100%" height="100%" fill="#fff"/><text x="6" y="16" font-size="12" fill="#222">true c{} · predicted c{}</text>"##,
        e.label, e.predicted
    );
    for (edge, &(dx, dy)) in shown.iter().zip(&directions) {
        let _ = write!(
            s,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{C}" y2="{C}" {} stroke-linecap="round"/>"#,
            C + RADIUS * dx,
            C + RADIUS * dy,
            stroke(edge.alpha, edge.saliency)
        );
    }
    if let Some(edge) = self_loop {
        let _ = write!(
            s,
            r#"<circle cx="{C}" cy="{C}" r="29" fill="none" {}/>"#,
            stroke(edge.alpha, edge.saliency)
        );
    }
    for (edge, &(dx, dy)) in shown.iter().zip(&directions) {
        let (x, y) = (C + RADIUS * dx, C + RADIUS * dy);
        let (lx, ly) = (C + (RADIUS + 28.0) * dx, C + (RADIUS + 28.0) * dy);
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="16" fill="{}" stroke="#555"/><text x="{x:.1}" y="{y:.1}" dy="0.35em" text-anchor="middle" font-size="11">{}</text><text x="{lx:.1}" y="{ly:.1}" dy="0.35em" text-anchor="middle" font-size="11" fill="#444">c{}</text>"##,
            class_fill(edge.source_label),
            edge.source,
            edge.source_label
        );
    }
    let (border, mark) = if e.label == e.predicted {
        ("#2a9d3a", "✓")
    } else {
        ("#d62728", "✗")
    };
    let _ = write!(
        s,
        r##"<circle cx="{C}" cy="{C}" r="21" fill="{}" stroke="{border}" stroke-width="4"/><text x="{C}" y="{C}" dy="0.35em" text-anchor="middle" font-size="12" font-weight="bold">{}</text><text x="{C}" y="{}" text-anchor="middle" font-size="22" font-weight="bold" fill="{border}">{mark}</text>"##,
        class_fill(e.label),
        e.node,
        C - 40.0,
    );
    if others.len() > shown.len() {
        let _ = write!(
            s,
            r##"<text x="6" y="{}" font-size="12" fill="#666">+{} less salient neighbours not drawn</text>"##,
            HEIGHT - 6.0,
            others.len() - shown.len()
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatgrad::diagnose::record::ExplainedEdge;

    #[test]
    fn neighbourhood_draws_neighbours_self_loop_and_marker() {
        let edge = |source, alpha, saliency| ExplainedEdge {
            source,
            alpha,
            saliency,
            source_label: 1,
            ..ExplainedEdge::default()
        };
        let mut e = Explanation {
            node: 5,
            label: 1,
            predicted: 2,
            edges: vec![
                edge(5, 0.5, 2.0),
                edge(3, 0.3, f64::NAN),
                edge(4, f64::NAN, 0.0),
            ],
            ..Explanation::default()
        };
        let svg = drawing(&e);
        assert_eq!(svg.matches("<line").count(), 2);
        assert!(svg.contains("stroke-dasharray"), "NaN saliency is dashed");
        assert!(svg.contains('✗') && svg.contains("true c1 · predicted c2"));
        e.predicted = 1;
        e.edges = (0..20).map(|i| edge(i + 10, 0.05, 1.0)).collect();
        let svg = drawing(&e);
        assert!(svg.contains('✓'));
        assert_eq!(svg.matches("<line").count(), MAX_NEIGHBOURS);
        assert!(svg.contains("+8 less salient"));
        e.edges.clear();
        assert!(drawing(&e).ends_with("</svg>"));
    }
}
