//! Contractions of a node tensor with a parameter, and their adjoints, as GEMM calls.

use super::*;

impl Gen<'_> {
    pub(super) fn size(&self, vars: &[VarId]) -> String {
        if vars.is_empty() {
            return "1".into();
        }
        vars.iter()
            .map(|v| match self.p.var(*v).kind {
                VarKind::Dense(d) => format!("d{}", d.0),
                _ => "1".into(),
            })
            .collect::<Vec<_>>()
            .join(" * ")
    }

    /// `out[n, O] = Σ_S X[n, S] · W[O, S] (or W[S, O]) (+ Σ more products) (+ bias[O])`.
    pub(super) fn gemm(
        &self,
        eq: &Equation,
        terms: &[crate::plan::GemmTerm],
        bias: Option<TensorId>,
    ) -> String {
        let node_matmul = self.helper(Helper::NodeMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let par_rows = self.helper(Helper::ParRows);
        let o = &eq.vars[1..];
        let osz = self.size(o);
        let mut code = String::new();
        for (k, t) in terms.iter().enumerate() {
            let _ = writeln!(
                code,
                "{node_matmul}(b, {tensor_id}({0}), t{0}, {ssz}, t{1}, {osz}, {w_os}, {2}, &mut out);",
                t.x.0,
                t.w.0,
                k > 0,
                ssz = self.size(&t.contracted),
                w_os = t.w_out_first,
            );
        }
        if let Some(bt) = bias {
            let _ = writeln!(
                code,
                "{par_rows}(&mut out, {osz}, |_, row| {{ for (r, bv) in row.iter_mut().zip(t{}.iter()) {{ *r += *bv; }} }});",
                bt.0
            );
        }
        code
    }

    /// `out[P, Q] = Σ_n A[n, P] · B[n, Q]` (+ more products): Aᵀ B.
    pub(super) fn gemm_transposed(&self, terms: &[crate::plan::GemmTTerm]) -> String {
        let node_t_matmul = self.helper(Helper::NodeTMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let mut code = String::new();
        for (k, t) in terms.iter().enumerate() {
            let _ = writeln!(
                code,
                "{node_t_matmul}(b, {tensor_id}({0}), t{0}, {psz}, {tensor_id}({1}), t{1}, {qsz}, {2}, &mut out);",
                t.a.0,
                t.b.0,
                k > 0,
                psz = self.size(&t.a_vars),
                qsz = self.size(&t.b_vars),
            );
        }
        code
    }
}
