//! Where two attention layers differ as math, not as text (`gatgrad diff`). Each layer's parts
//! are found by their role in the dataflow ([`roles`]): the source and target transforms, the
//! score, the normalisation, the aggregation, a residual, an output bias; and beside them the
//! self-loop policy, the output layout and each parameter's initialisation. A part is compared
//! by what it computes with every name taken out ([`structure`]), its inputs from other parts
//! held fixed, so a difference is reported once, where it is. Parameters are paired by role
//! (`lin_l.weight ↔ fc_src.weight`), and the gradient equations of paired parameters are compared
//! the same way. Two programs whose whole structure (parameters' initialisation included),
//! self-loop policy and output layout agree are the same function up to renaming: equivalent.
//! What is compared is math, not order: the operands of sums and products are put in a
//! canonical order ([`order`]), so swapped summands or factors, parameters declared in another
//! order and independent equations written in another order make no difference.

mod order;
mod roles;
mod structure;

use crate::facts::facts;
use crate::init::Init;
use crate::ir::*;
use crate::print::{Printer, Style};
use roles::Roles;
use std::collections::HashMap;
use std::fmt::Write;
use structure::Structure;

/// One part of the layers that differs: its role and how each side computes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The role (`self-loop policy`, `output bias`, ...).
    pub role: String,
    /// The first file's side, as equations or words.
    pub a: String,
    /// The second file's side.
    pub b: String,
}

/// Two parameters (or inputs) that play the same role.
#[derive(Clone, Debug, PartialEq)]
pub struct Pairing {
    /// The role.
    pub role: String,
    /// The tensor in the first program.
    pub a: TensorId,
    /// Its partner in the second.
    pub b: TensorId,
}

/// The result of [`compare`].
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The same function up to renaming.
    pub equivalent: bool,
    /// The parts that differ, in role order.
    pub differences: Vec<Difference>,
    /// Gradient equations of paired leaves that differ, and of leaves only one side has.
    pub derivatives: Vec<Difference>,
    /// Leaves paired by role (external names with [`Comparison::mapping`]).
    pub pairs: Vec<Pairing>,
    /// Parameters only the first program has, with their role.
    pub only_a: Vec<(String, TensorId)>,
    /// Parameters only the second program has.
    pub only_b: Vec<(String, TensorId)>,
    /// Set when the layers could not be aligned by role (say why); then only the verdict holds.
    pub unaligned: Option<String>,
}

/// The whole structure of `p` up to renaming, and its leaves in walk order.
fn whole(p: &Program) -> (String, Vec<TensorId>) {
    let (mut text, order) = Structure::new(p, HashMap::new(), true).text_of(p.output);
    if let Some(a) = p.attention {
        let (att, _) = Structure::new(p, HashMap::new(), false).text_of(a);
        let _ = write!(text, "\nattention {att}");
    }
    (text, order)
}

/// The external layout of `p`'s output in words: `[N, H*C]`, `[N, H, C]`.
fn layout(p: &Program) -> String {
    let t = p.tensor(p.output);
    let name = |d: &DimId| p.dims[d.index()].name.clone();
    let groups: Vec<String> = match &t.external_shape {
        Some(g) => g
            .iter()
            .map(|g| match g.as_slice() {
                [] => "1".to_string(),
                g => g.iter().map(name).collect::<Vec<_>>().join("*"),
            })
            .collect(),
        None if t.dims.is_empty() => vec!["1".into()],
        None => vec![t.dims.iter().map(name).collect::<Vec<_>>().join("*")],
    };
    format!("`{}` stored [N, {}]", t.name, groups.join(", "))
}

/// The layout compared across programs: each group's size as a product of the output's own
/// axes by position.
fn layout_key(p: &Program) -> Vec<Vec<usize>> {
    let t = p.tensor(p.output);
    let pos = |d: &DimId| t.dims.iter().position(|x| p.dim_root(*x) == p.dim_root(*d));
    match &t.external_shape {
        Some(g) => g
            .iter()
            .map(|g| g.iter().filter_map(pos).collect())
            .collect(),
        None => vec![(0..t.dims.len()).collect()],
    }
}

fn self_loops(g: GraphKind) -> &'static str {
    match g {
        GraphKind::SelfLoops => {
            "self loops replaced: existing loops removed, one loop per node added (PyG's \
             add_self_loops)"
        }
        GraphKind::Raw => {
            "the graph as given: no self loops added, a node with no in-edges aggregates zero"
        }
    }
}

/// How parameter `t` is initialised, in words, and the scheme it amounts to.
fn init_of(p: &Program, t: TensorId, bias: bool) -> (String, Init) {
    match p.init_of(t) {
        Some(i) => (i.to_string(), i),
        None if bias => ("zeros (the default for a bias)".into(), Init::Zeros),
        None => ("glorot (the default)".into(), Init::Glorot),
    }
}

/// One side of a role: the program and its parts.
struct Side<'a> {
    p: &'a Program,
    roles: Roles,
    printer: Printer<'a>,
}

impl<'a> Side<'a> {
    fn new(p: &'a Program) -> Result<Side<'a>, String> {
        Ok(Side {
            p,
            roles: Roles::find(p)?,
            printer: Printer::new(p, Style::Text),
        })
    }

    /// The structure of `t` with the given tensors held fixed, and its parameters in walk order.
    fn text(&self, t: TensorId, fixed: &[(TensorId, &str)]) -> (String, Vec<TensorId>) {
        let fixed = fixed.iter().map(|(t, n)| (*t, n.to_string())).collect();
        let (text, order) = Structure::new(self.p, fixed, false).text_of(t);
        (text, self.params(order))
    }

    /// The structure of output terms (in canonical order), with the aggregation's inputs fixed.
    fn terms_text(&self, terms: &[(bool, ExprId)]) -> (String, Vec<TensorId>) {
        let eq = &self.p.equations[self.roles.output_eq];
        let mut out = String::new();
        let mut leaves = Vec::new();
        let mut s = Structure::new(self.p, HashMap::new(), false);
        let mut terms = terms.to_vec();
        terms.sort_by_cached_key(|(neg, t)| (s.term_key(&eq.vars, *t), *neg));
        for (neg, t) in &terms {
            let _ = write!(
                out,
                "{} {}; ",
                if *neg { "-" } else { "+" },
                s.term(&eq.vars, *t)
            );
        }
        let (rest, order) = s.text_of_nothing();
        out.push_str(&rest);
        leaves.extend(self.params(order));
        (out, leaves)
    }

    fn params(&self, order: Vec<TensorId>) -> Vec<TensorId> {
        order
            .into_iter()
            .filter(|t| self.p.tensor(*t).role == Role::Param)
            .collect()
    }

    /// The forward equations defining `tensors` (those that have one), in program order.
    fn equations(&self, tensors: &[TensorId]) -> String {
        let lines: Vec<String> = self
            .p
            .equations
            .iter()
            .filter(|e| tensors.contains(&e.lhs))
            .map(|e| self.printer.equation(e))
            .collect();
        lines.join("\n")
    }

    /// Output terms as text: `+ bias[h, c]`.
    fn terms(&self, terms: &[(bool, ExprId)]) -> String {
        if terms.is_empty() {
            return "none".into();
        }
        let out = self.printer.name(self.roles.output);
        let parts: Vec<String> = terms
            .iter()
            .map(|(neg, t)| format!("{} {}", if *neg { "-" } else { "+" }, self.printer.expr(*t)))
            .collect();
        // The definitions of what the terms read (a residual's own transform).
        let mut read = Vec::new();
        for (_, t) in terms {
            self.p.tensors_read(*t, &mut read);
        }
        let defs = self.equations(&read);
        let line = format!("{out} = … {}", parts.join(" "));
        if defs.is_empty() {
            line
        } else {
            format!("{defs}\n{line}")
        }
    }

    /// Every tensor the walk from `t` meets before the fixed ones, for printing its equations.
    fn reached(&self, t: TensorId, fixed: &[(TensorId, &str)]) -> Vec<TensorId> {
        let fixed = fixed.iter().map(|(t, n)| (*t, n.to_string())).collect();
        Structure::new(self.p, fixed, false).text_of(t).1
    }
}

/// Compares two differentiated layers (see the module documentation).
pub fn compare(a: &Program, b: &Program) -> Comparison {
    let (wa, la) = whole(a);
    let (wb, lb) = whole(b);
    let graphs = |p: &Program| -> Vec<GraphKind> {
        let mut g = p.graphs.clone();
        g.sort_by_key(|k| *k == GraphKind::SelfLoops);
        g.dedup();
        g
    };
    let equivalent = wa == wb && graphs(a) == graphs(b) && layout_key(a) == layout_key(b);
    let mut c = Comparison {
        equivalent,
        differences: Vec::new(),
        derivatives: Vec::new(),
        pairs: Vec::new(),
        only_a: Vec::new(),
        only_b: Vec::new(),
        unaligned: None,
    };
    let (sa, sb) = match (Side::new(a), Side::new(b)) {
        (Ok(sa), Ok(sb)) => (sa, sb),
        (Err(e), _) | (_, Err(e)) => {
            c.unaligned = Some(e);
            if equivalent {
                // Leaves pair by the order the walks meet them.
                for (x, y) in la.iter().zip(&lb) {
                    if a.tensor(*x).role.is_leaf_differentiable() {
                        c.pairs.push(Pairing {
                            role: "same place".into(),
                            a: *x,
                            b: *y,
                        });
                    }
                }
            }
            return c;
        }
    };
    align(&sa, &sb, (&la, &lb), &mut c);
    c
}

/// Fills the differences, pairs and derivative differences of two sides; `walks` are the leaves
/// of each whole program in the order its canonical walk meets them.
fn align(sa: &Side<'_>, sb: &Side<'_>, walks: (&[TensorId], &[TensorId]), c: &mut Comparison) {
    let (ra, rb) = (&sa.roles, &sb.roles);
    let mut diff = |role: &str, a: String, b: String| {
        c.differences.push(Difference {
            role: role.into(),
            a,
            b,
        })
    };
    let mut pairs: Vec<(String, Vec<TensorId>, Vec<TensorId>)> = Vec::new();
    // Source transform: the message value.
    let (ta, pa) = sa.text(ra.value, &[]);
    let (tb, pb) = sb.text(rb.value, &[]);
    if ta != tb {
        diff(
            "source transform",
            sa.equations(&sa.reached(ra.value, &[])),
            sb.equations(&sb.reached(rb.value, &[])),
        );
    }
    pairs.push(("source transform".into(), pa, pb));
    // Target transform.
    let target_text = |s: &Side<'_>, t: Option<TensorId>| match t {
        Some(t) => (s.text(t, &[]), s.equations(&s.reached(t, &[]))),
        None => (
            (String::from("shared"), Vec::new()),
            "the source transform (shared weights)".into(),
        ),
    };
    let ((ta, pa), ea) = target_text(sa, ra.target);
    let ((tb, pb), eb) = target_text(sb, rb.target);
    if ta != tb {
        diff("target transform", ea, eb);
    }
    pairs.push(("target transform".into(), pa, pb));
    // Score, with both transforms held fixed.
    let fixed = |r: &Roles| {
        let mut f = vec![(r.value, "SOURCE")];
        if let Some(t) = r.target {
            f.push((t, "TARGET"));
        }
        f
    };
    let score_of = |s: &Side<'_>, r: &Roles| match r.score {
        Some(t) => {
            let f = fixed(r);
            (s.text(t, &f), s.equations(&s.reached(t, &f)))
        }
        None => (
            (String::from("inline"), Vec::new()),
            "inside the softmax".into(),
        ),
    };
    let ((ta, pa), ea) = score_of(sa, ra);
    let ((tb, pb), eb) = score_of(sb, rb);
    if ta != tb {
        diff("score", ea, eb);
    }
    pairs.push(("score".into(), pa, pb));
    // Normalisation: the softmax and what lies between it and the aggregation (dropout).
    let norm = |s: &Side<'_>, r: &Roles| {
        let mut f = fixed(r);
        if let Some(t) = r.score {
            f.push((t, "SCORE"));
        }
        (
            s.text(r.weights, &f).0,
            s.equations(&s.reached(r.weights, &f)),
        )
    };
    let (ta, ea) = norm(sa, ra);
    let (tb, eb) = norm(sb, rb);
    if ta != tb {
        diff("normalisation", ea, eb);
    }
    // Aggregation: the neighbourhood sum with its weights and values held fixed.
    let agg = |s: &Side<'_>, r: &Roles| {
        let eq = &s.p.equations[r.output_eq];
        let fixed = [
            (r.weights, "WEIGHTS".to_string()),
            (r.value, "VALUE".to_string()),
        ];
        let mut st = Structure::new(s.p, fixed.into_iter().collect(), false);
        let text = st.term(&eq.vars, r.aggregation);
        (
            text,
            format!(
                "{} = {} + …",
                s.printer.name(r.output),
                s.printer.expr(r.aggregation)
            ),
        )
    };
    let (ta, ea) = agg(sa, ra);
    let (tb, eb) = agg(sb, rb);
    if ta != tb {
        diff("aggregation", ea, eb);
    }
    // Residual and output bias.
    for (role, ta_terms, tb_terms) in [
        ("residual", &ra.residual_terms, &rb.residual_terms),
        ("output bias", &ra.bias_terms, &rb.bias_terms),
    ] {
        let (ta, pa) = sa.terms_text(ta_terms);
        let (tb, pb) = sb.terms_text(tb_terms);
        if ta != tb {
            diff(role, sa.terms(ta_terms), sb.terms(tb_terms));
        }
        pairs.push((role.into(), pa, pb));
    }
    if ra.graph != rb.graph {
        diff(
            "self-loop policy",
            self_loops(ra.graph).into(),
            self_loops(rb.graph).into(),
        );
    }
    if layout_key(sa.p) != layout_key(sb.p) {
        diff("output layout", layout(sa.p), layout(sb.p));
    }
    // Pair parameters by role and position; the rest is one side's only.
    let mut used_a = Vec::new();
    let mut used_b = Vec::new();
    for (role, pa, pb) in &pairs {
        let pa: Vec<TensorId> = pa
            .iter()
            .filter(|t| !used_a.contains(*t))
            .copied()
            .collect();
        let pb: Vec<TensorId> = pb
            .iter()
            .filter(|t| !used_b.contains(*t))
            .copied()
            .collect();
        for (x, y) in pa.iter().zip(&pb) {
            c.pairs.push(Pairing {
                role: role.clone(),
                a: *x,
                b: *y,
            });
        }
        let n = pa.len().min(pb.len());
        c.only_a.extend(pa[n..].iter().map(|t| (role.clone(), *t)));
        c.only_b.extend(pb[n..].iter().map(|t| (role.clone(), *t)));
        used_a.extend(pa);
        used_b.extend(pb);
    }
    // The inputs pair by the order the canonical walks meet them (not by declaration).
    let inputs = |p: &Program, walk: &[TensorId]| -> Vec<TensorId> {
        walk.iter()
            .copied()
            .filter(|t| p.tensor(*t).role == Role::Input)
            .collect()
    };
    for (x, y) in inputs(sa.p, walks.0).into_iter().zip(inputs(sb.p, walks.1)) {
        c.pairs.push(Pairing {
            role: "input".into(),
            a: x,
            b: y,
        });
    }
    // Initialisation of paired parameters.
    let (fa, fb) = (facts(sa.p), facts(sb.p));
    let mut inits = Vec::new();
    for pair in c
        .pairs
        .iter()
        .filter(|p| sa.p.tensor(p.a).role == Role::Param)
    {
        let (da, ia) = init_of(sa.p, pair.a, fa.is_bias(pair.a));
        let (db, ib) = init_of(sb.p, pair.b, fb.is_bias(pair.b));
        if ia != ib {
            inits.push((
                format!("{}: {da}", sa.p.tensor(pair.a).external),
                format!("{}: {db}", sb.p.tensor(pair.b).external),
            ));
        }
    }
    if !inits.is_empty() {
        let (a, b): (Vec<String>, Vec<String>) = inits.into_iter().unzip();
        c.differences.push(Difference {
            role: "initialisation".into(),
            a: a.join("\n"),
            b: b.join("\n"),
        });
    }
    derivatives(sa, sb, c);
}

/// Gradient equations of paired leaves that differ, and those of one side's own parameters.
fn derivatives(sa: &Side<'_>, sb: &Side<'_>, c: &mut Comparison) {
    let grad = |p: &Program, t: TensorId| p.grads.iter().find(|(l, _)| *l == t).map(|(_, g)| *g);
    let eq = |s: &Side<'_>, g: TensorId| {
        s.p.backward
            .iter()
            .find(|e| e.lhs == g)
            .map(|e| s.printer.equation(e))
            .unwrap_or_else(|| format!("{} = 0", s.printer.name(g)))
    };
    let mut out = Vec::new();
    for pair in &c.pairs {
        let (Some(ga), Some(gb)) = (grad(sa.p, pair.a), grad(sb.p, pair.b)) else {
            continue;
        };
        let ta = Structure::new(sa.p, HashMap::new(), false).text_of(ga).0;
        let tb = Structure::new(sb.p, HashMap::new(), false).text_of(gb).0;
        if ta != tb {
            out.push(Difference {
                role: format!(
                    "∂{} ↔ ∂{}",
                    sa.p.tensor(pair.a).external,
                    sb.p.tensor(pair.b).external
                ),
                a: eq(sa, ga),
                b: eq(sb, gb),
            });
        }
    }
    for (role, t) in &c.only_a {
        if let Some(g) = grad(sa.p, *t) {
            out.push(Difference {
                role: format!("∂{} ({role}, first file only)", sa.p.tensor(*t).external),
                a: eq(sa, g),
                b: "none".into(),
            });
        }
    }
    for (role, t) in &c.only_b {
        if let Some(g) = grad(sb.p, *t) {
            out.push(Difference {
                role: format!("∂{} ({role}, second file only)", sb.p.tensor(*t).external),
                a: "none".into(),
                b: eq(sb, g),
            });
        }
    }
    c.derivatives = out;
}

impl Comparison {
    /// Paired parameters and inputs by external name: `(role, a's name, b's name)`.
    pub fn mapping(&self, a: &Program, b: &Program) -> Vec<(String, String, String)> {
        self.pairs
            .iter()
            .map(|p| {
                (
                    p.role.clone(),
                    a.tensor(p.a).external.clone(),
                    b.tensor(p.b).external.clone(),
                )
            })
            .collect()
    }

    /// The report `gatgrad diff` prints: the verdict, the differences as math, the gradient
    /// equations that differ and the parameter mapping.
    pub fn render(&self, a: &Program, b: &Program, names: (&str, &str)) -> String {
        let mut out = String::new();
        if self.equivalent {
            let _ = writeln!(
                out,
                "equivalent: {} and {} are the same function up to renaming",
                names.0, names.1
            );
        } else {
            let n = self.differences.len();
            let _ = writeln!(
                out,
                "different: {} and {} differ in {}",
                names.0,
                names.1,
                match n {
                    0 => "how their parts are put together".to_string(),
                    1 => "1 part".to_string(),
                    n => format!("{n} parts"),
                }
            );
        }
        if let Some(why) = &self.unaligned {
            let _ = writeln!(out, "(not aligned by role: {why})");
        }
        let side = |text: &str, mark: &str| -> String {
            text.lines()
                .map(|l| format!("    {mark} {l}\n"))
                .collect::<String>()
        };
        for d in &self.differences {
            let _ = writeln!(out, "\n{}:", d.role);
            out.push_str(&side(&d.a, "-"));
            out.push_str(&side(&d.b, "+"));
        }
        if !self.derivatives.is_empty() {
            let _ = writeln!(out, "\nderivative equations that differ:");
            for d in &self.derivatives {
                let _ = writeln!(out, "  {}:", d.role);
                out.push_str(&side(&d.a, "-"));
                out.push_str(&side(&d.b, "+"));
            }
        }
        if !self.pairs.is_empty() || !self.only_a.is_empty() || !self.only_b.is_empty() {
            let _ = writeln!(out, "\nparameters:");
            for (role, x, y) in self.mapping(a, b) {
                let _ = writeln!(out, "    {x} ↔ {y}  ({role})");
            }
            for (role, t) in &self.only_a {
                let _ = writeln!(out, "    {} ↔ none  ({role})", a.tensor(*t).external);
            }
            for (role, t) in &self.only_b {
                let _ = writeln!(out, "    none ↔ {}  ({role})", b.tensor(*t).external);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
