//! Contractions of a node tensor with a parameter, and their adjoints, as GEMM calls.

use super::*;

impl Gen<'_> {
    pub(super) fn size(&self, vars: &[VarId]) -> TokenStream {
        product(
            vars.iter()
                .map(|v| match self.p.var(*v).kind {
                    VarKind::Dense(d) => {
                        let d = dim(d);
                        quote!(#d)
                    }
                    _ => quote!(1),
                })
                .collect(),
        )
    }

    /// `out[n, O] = Σ_S X[n, S] · W[O, S] (or W[S, O]) (+ Σ more products) (+ bias[O])`.
    pub(super) fn gemm(
        &self,
        eq: &Equation,
        terms: &[crate::plan::GemmTerm],
        bias: Option<TensorId>,
    ) -> TokenStream {
        let node_matmul = self.helper(Helper::NodeMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let par_rows = self.helper(Helper::ParRows);
        let osz = self.size(&eq.vars[1..]);
        let mut code = TokenStream::new();
        for (k, t) in terms.iter().enumerate() {
            let (x, id, w) = (values(t.x), int(t.x.index()), values(t.w));
            let (ssz, w_out_first, accumulate) = (self.size(&t.contracted), t.w_out_first, k > 0);
            code.extend(quote! {
                #node_matmul(b, #tensor_id(#id), #x, #ssz, #w, #osz, #w_out_first, #accumulate, &mut out);
            });
        }
        if let Some(bt) = bias {
            let bt = values(bt);
            code.extend(quote! {
                #par_rows(&mut out, #osz, |_, row| { for (r, bv) in row.iter_mut().zip(#bt.iter()) { *r += *bv; } });
            });
        }
        code
    }

    /// `out[P, Q] = Σ_n A[n, P] · B[n, Q]` (+ more products): Aᵀ B.
    pub(super) fn gemm_transposed(&self, terms: &[crate::plan::GemmTTerm]) -> TokenStream {
        let node_t_matmul = self.helper(Helper::NodeTMatmul);
        let tensor_id = self.helper(Helper::TensorId);
        let mut code = TokenStream::new();
        for (k, t) in terms.iter().enumerate() {
            let (a, a_id, b, b_id) = (values(t.a), int(t.a.index()), values(t.b), int(t.b.index()));
            let (psz, qsz, accumulate) = (self.size(&t.a_vars), self.size(&t.b_vars), k > 0);
            code.extend(quote! {
                #node_t_matmul(b, #tensor_id(#a_id), #a, #psz, #tensor_id(#b_id), #b, #qsz, #accumulate, &mut out);
            });
        }
        code
    }
}
