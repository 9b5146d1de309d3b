//! The plan as text a reviewer can follow: kernel by kernel, each equation with the decision
//! taken for it (what `gatgrad plan` prints and what the plan snapshots hold).

use super::{Gather, Kernel, Phase, Plan, Strategy};
use crate::ir::*;
use crate::print::{Printer, Style};
use std::fmt::{self, Write};

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pr = Printer::new(&self.program, Style::Text);
        let names = |ts: &mut dyn Iterator<Item = TensorId>| -> String {
            let v: Vec<String> = ts.map(|t| pr.name(t)).collect();
            if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            }
        };
        writeln!(
            f,
            "plan of `{}`: {} forward and {} backward kernels",
            self.program.name,
            self.forward.len(),
            self.backward.len()
        )?;
        writeln!(
            f,
            "in registers only (inlined where read): {}",
            names(&mut self.inlined.iter().copied())
        )?;
        writeln!(
            f,
            "compact when a zero pattern is set: {}",
            names(&mut self.compact.iter().copied())
        )?;
        writeln!(
            f,
            "kept for the visited target only (never stored): {}",
            names(&mut self.scratch.iter().copied())
        )?;
        let backward_reads = self.backward_reads();
        for phase in [Phase::Forward, Phase::Backward] {
            writeln!(f)?;
            let eqs = self.equations(phase);
            for k in self.kernels(phase) {
                writeln!(f, "{}", self.kernel_header(phase, k))?;
                if !k.prefetch_next_target.is_empty() {
                    writeln!(
                        f,
                        "  prefetch the next target's rows of {}",
                        names(&mut k.prefetch_next_target.iter().copied())
                    )?;
                }
                for step in &k.steps {
                    let eq = &eqs[step.eq];
                    writeln!(f, "  [{}] {}", step.eq, pr.equation(eq).replace('\n', " "))?;
                    writeln!(f, "      {}", self.decision(&step.strategy))?;
                }
                let stored: Vec<TensorId> = k
                    .eqs
                    .clone()
                    .map(|e| eqs[e].lhs)
                    .filter(|t| !self.scratch.contains(t))
                    .collect();
                write!(f, "  stores {}", names(&mut stored.iter().copied()))?;
                if phase == Phase::Forward {
                    let kept: Vec<TensorId> = stored
                        .iter()
                        .copied()
                        .filter(|t| backward_reads.contains(t))
                        .collect();
                    if !kept.is_empty() {
                        write!(f, "; the backward reads {}", names(&mut kept.into_iter()))?;
                    }
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

impl Plan {
    /// Tensors the backward equations read.
    fn backward_reads(&self) -> Vec<TensorId> {
        let mut out: Vec<TensorId> = self
            .backward_eqs
            .iter()
            .flat_map(|eq| super::walk::reads(&self.program, eq))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn graph(&self, g: GraphId) -> String {
        match self.program.graphs[g.0 as usize] {
            GraphKind::Raw => format!("graph {} (as given)", g.0),
            GraphKind::SelfLoops => format!("graph {} (with self loops)", g.0),
        }
    }

    fn kernel_header(&self, phase: Phase, k: &Kernel) -> String {
        let mut s = Plan::kernel_name(phase, k);
        match k.fused {
            Some(g) => {
                let _ = write!(
                    s,
                    ": one parallel pass over the targets of {}",
                    self.graph(g)
                );
            }
            None => s.push(':'),
        }
        if phase == Phase::Backward && !k.for_params {
            s.push_str(" (input gradients only; skipped by backward_params)");
        }
        s
    }

    fn tensors(&self, ts: &[TensorId]) -> String {
        let pr = Printer::new(&self.program, Style::Text);
        ts.iter()
            .map(|t| pr.name(*t))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn gather(&self, g: &Gather) -> String {
        let mut s = match g.range {
            Range::InEdges { .. } => "a sum over its in-edges".to_string(),
            _ => "a sum over its out-edges".to_string(),
        };
        s.push_str(" (edges outside, features inside)");
        let mut ahead: Vec<TensorId> = g.prefetch.clone();
        ahead.extend(&g.prefetch_edges);
        if !ahead.is_empty() {
            let _ = write!(
                s,
                ", prefetching {} a few edges ahead",
                self.tensors(&ahead)
            );
        }
        s
    }

    /// The decision for one step, in one line.
    fn decision(&self, strategy: &Strategy) -> String {
        let pr = Printer::new(&self.program, Style::Text);
        match strategy {
            Strategy::Generic => "undecided".into(),
            Strategy::Reshape => "copy into the other layout of the same memory".into(),
            Strategy::LoopFill { adjoint: false } => "self-loop feature fill".into(),
            Strategy::LoopFill { adjoint: true } => "adjoint of the self-loop feature fill".into(),
            Strategy::CrossEntropy => "masked mean cross-entropy".into(),
            Strategy::Softmax { graph, stored } => match stored {
                Some(t) => format!(
                    "softmax over in-edges by target of {}, normalising the stored {}",
                    self.graph(*graph),
                    pr.name(*t)
                ),
                None => format!(
                    "softmax over in-edges by target of {}, scores computed edge by edge first",
                    self.graph(*graph)
                ),
            },
            Strategy::Gemm { terms, bias } => {
                let products: Vec<String> = terms
                    .iter()
                    .map(|t| {
                        let layout = if t.w_out_first {
                            "[out, in]"
                        } else {
                            "[in, out]"
                        };
                        format!("{} · {} {layout}", pr.name(t.x), pr.name(t.w))
                    })
                    .collect();
                let mut s = format!("GEMM {}", products.join(" + "));
                if let Some(b) = bias {
                    let _ = write!(s, ", then + {} per row", pr.name(*b));
                }
                s.push_str(" (sparse × dense when the node tensor has a zero pattern)");
                s
            }
            Strategy::GemmTransposed { terms } => {
                let products: Vec<String> = terms
                    .iter()
                    .map(|t| format!("{}ᵀ · {}", pr.name(t.a), pr.name(t.b)))
                    .collect();
                format!("GEMM {} over all nodes", products.join(" + "))
            }
            Strategy::Entrywise { deferred } => {
                let mut s = "entry by entry (only its pattern, stored compactly, when it has one)"
                    .to_string();
                if let Some(d) = deferred {
                    let _ = write!(
                        s,
                        "; deferred {}: a cheap stand-in first, the exact value only where x ≤ 0{}",
                        if d.func == Func::Elu { "elu" } else { "elu'" },
                        if d.mask.is_some() {
                            " and the dropout mask keeps the entry"
                        } else {
                            ""
                        }
                    );
                }
                s
            }
            Strategy::NodeRows {
                gathers, head_walk, ..
            } => {
                if let Some(w) = head_walk {
                    let op = if w.op == ReduceOp::Mean {
                        "mean"
                    } else {
                        "sum"
                    };
                    return format!(
                        "node row: a {op} over heads of {}, walking the edges once with a scratch row per head",
                        self.gather(&w.gather)
                    );
                }
                let mut s = "node rows in parallel".to_string();
                for g in gathers {
                    let _ = write!(s, "; {}", self.gather(g));
                }
                s
            }
            Strategy::EdgeRows {
                block_sums,
                prefetch_ahead,
            } => {
                let mut s = "edge rows in target order".to_string();
                if let Some(b) = block_sums {
                    let _ = write!(
                        s,
                        "; per-{} sums over contiguous blocks: one flat loop of terms, then a sum per block",
                        self.program.var(b.head).name
                    );
                }
                if !prefetch_ahead.is_empty() {
                    let _ = write!(
                        s,
                        "; prefetching {} a few edges ahead",
                        self.tensors(prefetch_ahead)
                    );
                }
                s
            }
            Strategy::TargetSoftmax { scores } => format!(
                "softmax over the target's in-edges of the stored {}",
                pr.name(*scores)
            ),
            Strategy::ChunkedSum {
                over,
                prefetch_ahead,
                ..
            } => {
                let what = match self.program.var(*over).kind {
                    VarKind::Edge(g) => format!("all edges of {}", self.graph(g)),
                    _ => "all nodes".into(),
                };
                let mut s = format!("sum over {what} in fixed chunks, partial sums added in order");
                if !prefetch_ahead.is_empty() {
                    let _ = write!(
                        s,
                        "; prefetching {} a few edges ahead",
                        self.tensors(prefetch_ahead)
                    );
                }
                s
            }
            Strategy::TargetSum { .. } => {
                "sum over the visited target's in-edges, added to this pass's chunk sum (chunks of targets, partial sums added in order)".into()
            }
            Strategy::DenseLoops => "dense loops".into(),
        }
    }
}
