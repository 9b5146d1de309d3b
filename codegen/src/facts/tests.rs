//! Facts on small programs, and on every model of the zoo against PyG's naming conventions
//! (which the zoo follows, and which the facts must not read).

use super::*;

fn program(text: &str) -> Program {
    crate::compile_source("test", text)
        .unwrap_or_else(|f| panic!("{}", f.rendered))
        .0
}

fn names(p: &Program, ts: &[TensorId]) -> Vec<String> {
    ts.iter().map(|t| p.tensor(*t).name.clone()).collect()
}

fn dim_names(p: &Program, ds: &[DimId]) -> Vec<String> {
    ds.iter().map(|d| p.dims[d.index()].name.clone()).collect()
}

/// Every zoo file, with its text.
fn zoo() -> Vec<(String, String)> {
    crate::zoo_sources()
}

const RENAMED: &str = "layer l(q = 0.5, leak = 0.1) {
    dims A, B, D;
    self_loops;
    input feats[v: node, w: A];
    param lhs_w[u: B, t: D, w: A] as \"p1\" [B*D, A];
    param rhs_w[u: B, t: D, w: A] as \"p2\" [B*D, A];
    param scorer[u: B, t: D] as \"p3\";
    param shift[u: B, t: D] as \"p4\";
    param skip[u: B, t: D, w: A] as \"p5\" [B*D, A];
    left[v, u, t] = sum_w lhs_w[u, t, w] * feats[v, w];
    right[v, u, t] = sum_w rhs_w[u, t, w] * feats[v, w];
    sc[i <- j, u] = sum_t scorer[u, t] * leaky_relu(left[j, u, t] + right[i, u, t], leak);
    att[i <- j, u] = softmax_j sc[i <- j, u];
    kept[i <- j, u] = dropout(att[i <- j, u], q);
    res[i, u, t] = sum_{j -> i} kept[i <- j, u] * left[j, u, t]
                 + sum_w skip[u, t, w] * feats[i, w] - shift[u, t];
    output res;
}";

#[test]
fn roles_not_names_decide_a_renamed_gatv2() {
    let p = program(RENAMED);
    let f = facts(&p);
    assert_eq!(names(&p, &[f.input.unwrap()]), ["feats"]);
    assert_eq!(dim_names(&p, &[f.features.unwrap()]), ["A"]);
    assert_eq!(f.classes, None);
    assert_eq!(f.layers.len(), 1);
    let l = &f.layers[0];
    assert_eq!(names(&p, &l.softmax), ["att"]);
    assert_eq!(dim_names(&p, &l.heads), ["B"]);
    assert_eq!(dim_names(&p, &l.channels), ["D"]);
    assert!(l.concat);
    assert_eq!(f.output_layer, Some(0));
    let rates: Vec<&str> = f
        .dropout_rates
        .iter()
        .map(|s| p.scalars[s.index()].name.as_str())
        .collect();
    assert_eq!(rates, ["q"]);
    assert_eq!(names(&p, &f.biases), ["shift"]);
    let kinds: Vec<(String, ParamKind)> = f
        .params
        .iter()
        .map(|(t, k)| (p.tensor(*t).name.clone(), *k))
        .collect();
    use ParamKind::*;
    assert_eq!(
        kinds,
        [
            ("lhs_w".to_string(), Value),
            ("rhs_w".to_string(), Attention),
            ("scorer".to_string(), Attention),
            ("shift".to_string(), Value),
            ("skip".to_string(), Other),
        ]
    );
}

#[test]
fn a_multiplied_parameter_is_not_a_bias_even_when_also_added() {
    let p = program(
        "layer l() {
            dims F;
            input x[n: node, f: F];
            param b[f: F];
            param c[f: F];
            y[n, f] = x[n, f] * b[f] + b[f] + c[f];
            output y;
        }",
    );
    assert_eq!(names(&p, &facts(&p).biases), ["c"]);
}

#[test]
fn averaged_heads_are_heads_but_not_output_axes() {
    let (_, text) = zoo()
        .into_iter()
        .find(|(f, _)| f == "gatv2_two_layer.gat")
        .unwrap();
    let p = program(&text);
    let f = facts(&p);
    assert_eq!(dim_names(&p, &[f.features.unwrap()]), ["F"]);
    assert_eq!(dim_names(&p, &[f.classes.unwrap()]), ["K"]);
    assert_eq!(f.layers.len(), 2);
    let (l1, l2) = (&f.layers[0], &f.layers[1]);
    assert_eq!(names(&p, &l1.softmax), ["conv1.a"]);
    assert_eq!(dim_names(&p, &l1.heads), ["conv1.H"]);
    assert_eq!(dim_names(&p, &l1.channels), ["conv1.C"]);
    assert!(l1.concat);
    assert_eq!(names(&p, &l2.softmax), ["conv2.a"]);
    assert_eq!(dim_names(&p, &l2.heads), ["conv2.H"]);
    // conv2.C is the class count: the loss unifies them.
    assert_eq!(dim_names(&p, &l2.channels), ["K"]);
    assert!(!l2.concat);
    assert_eq!(f.output_layer, Some(1));
    assert_eq!(names(&p, &[f.mask.unwrap()]), ["train_mask"]);
    let rates: Vec<&str> = f
        .dropout_rates
        .iter()
        .map(|s| p.scalars[s.index()].name.as_str())
        .collect();
    assert_eq!(rates, ["dropout"]);
}

/// PyG's and DGL's parameter names, which the zoo follows (`models/dgl/` DGL's): the
/// classification the facts must reproduce without reading them.
fn pyg_kind(name: &str) -> ParamKind {
    let last = name.rsplit('.').next().unwrap_or(name);
    // A residual (DGL's `res_fc`, weight and bias) is a skip connection.
    if name.starts_with("res_fc.") || name.contains(".res_fc.") {
        return ParamKind::Other;
    }
    if matches!(
        last,
        "att" | "att_src" | "att_dst" | "beta" | "attn" | "attn_l" | "attn_r"
    ) || ["lin_r", "lin_query", "lin_key", "fc_dst"]
        .iter()
        .any(|p| name.contains(p))
    {
        ParamKind::Attention
    } else if ["lin_l", "lin.", "lin_value", "fc_src"]
        .iter()
        .any(|p| name.contains(p))
        || name == "fc.weight"
        || name.ends_with(".fc.weight")
        || last == "bias"
    {
        ParamKind::Value
    } else {
        ParamKind::Other
    }
}

#[test]
fn every_zoo_model_agrees_with_pyg_names() {
    for (file, text) in zoo() {
        let p = program(&text);
        let f = facts(&p);
        let params: Vec<TensorId> = f.params.iter().map(|(t, _)| *t).collect();
        assert!(!params.is_empty(), "{file}");
        for (t, kind) in &f.params {
            let ext = &p.tensor(*t).external;
            assert_eq!(*kind, pyg_kind(ext), "{file}: {ext}");
            assert_eq!(f.is_bias(*t), ext.ends_with("bias"), "{file}: {ext} bias");
        }
        // DGL's identity residual views its input as [N, H, C]: no single feature axis, so it
        // has no input in the facts' sense (it cannot run in the two-layer setup, whose first
        // layer reads the dataset's features).
        let viewed = p
            .tensors
            .iter()
            .any(|t| t.role == Role::Input && t.domain == Domain::Node && t.dims.len() > 1);
        assert_eq!(f.input.is_some(), !viewed, "{file}");
        assert!(!f.layers.is_empty(), "{file}");
        assert!(f.output_layer.is_some(), "{file}");
        for l in &f.layers {
            assert_eq!(l.softmax.len(), 1, "{file}");
            let out: Vec<DimId> = p
                .tensor(l.output)
                .dims
                .iter()
                .map(|d| p.dim_root(*d))
                .collect();
            // Heads and channels partition the output axes when concatenated.
            if l.concat {
                assert_eq!(l.heads.len() + l.channels.len(), out.len(), "{file}");
            } else {
                assert_eq!(l.channels, out, "{file}");
            }
        }
        // Every dropout rate is a named constant that some dropout mask uses.
        for s in &f.dropout_rates {
            assert!(
                p.tensors.iter().any(|t| t.role
                    == Role::Dropout {
                        p: Scalar::Named(*s)
                    }),
                "{file}"
            );
        }
        let has_model = text.lines().any(|l| l.starts_with("model "));
        assert_eq!(f.classes.is_some(), has_model, "{file}");
    }
}
