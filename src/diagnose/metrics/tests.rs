use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Node 0 ← {1, 2, 3} (edges 0, 1, 2), node 1 ← {0} (edge 3), nodes 2 and 3 no in-edges.
fn star() -> Graph {
    Graph::new(4, vec![1, 2, 3, 0], vec![0, 0, 0, 1]).unwrap()
}

#[test]
fn uniform_attention_has_entropy_exactly_one() {
    let g = star();
    // Two heads, both uniform over node 0's three in-edges; node 1's single edge is 1.
    let third = 1.0 / 3.0;
    let alpha = vec![third, third, third, third, third, third, 1.0, 1.0];
    let h = normalized_entropy(&g, &alpha, 2);
    assert_eq!(h.len(), 2);
    for v in h {
        assert!(close(v, 1.0, 1e-15), "{v}");
    }
    // Node 1 (in-degree 1) and nodes 2, 3 (in-degree 0) are skipped.
    let per_node = node_normalized_entropy(&g, &alpha, 2);
    assert_eq!(per_node.len(), 1);
    assert_eq!(per_node[0].0, 0);
    // Two equal weights: entropy ln 2 / ln 2 is exactly 1.
    let pair = Graph::new(2, vec![0, 1], vec![1, 1]).unwrap();
    assert_eq!(normalized_entropy(&pair, &[0.5f64, 0.5], 1), vec![1.0]);
    assert_eq!(normalized_entropy(&pair, &[0.5f32, 0.5], 1), vec![1.0]);
}

#[test]
fn one_hot_attention_has_entropy_zero() {
    let g = star();
    let alpha = vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0];
    assert_eq!(normalized_entropy(&g, &alpha, 2), vec![0.0, 0.0]);
    assert_eq!(mean_max_attention(&g, &alpha, 2), vec![1.0, 1.0]);
}

#[test]
fn three_edge_hand_example() {
    let g = star();
    // Node 0: α = (1/2, 1/4, 1/4). Entropy = ½ln2 + 2·¼ln4 = 1.5 ln 2;
    // normalized: 1.5 ln 2 / ln 3 = 0.946394630357186...
    let alpha = vec![0.5f64, 0.25, 0.25, 1.0];
    let h = normalized_entropy(&g, &alpha, 1);
    let expected = 1.5 * 2f64.ln() / 3f64.ln();
    assert!(close(h[0], expected, 1e-15), "{} vs {expected}", h[0]);
    assert!(close(h[0], 0.946_394_630_357_186, 1e-12));
    // Max: node 0 → 0.5, node 1 → 1.0; mean 0.75.
    assert_eq!(mean_max_attention(&g, &alpha, 1), vec![0.75]);
    // f32 input agrees to f32 precision.
    let alpha32: Vec<f32> = alpha.iter().map(|&a| a as f32).collect();
    assert!(close(
        normalized_entropy(&g, &alpha32, 1)[0],
        expected,
        1e-6
    ));
}

#[test]
fn no_eligible_nodes_give_nan() {
    let g = Graph::new(3, vec![0], vec![1]).unwrap();
    assert!(normalized_entropy(&g, &[1.0f64], 1)[0].is_nan());
    let empty = Graph::new(2, vec![], vec![]).unwrap();
    assert!(mean_max_attention::<f64>(&empty, &[], 1)[0].is_nan());
    assert!(normalized_entropy::<f64>(&empty, &[], 0).is_empty());
}

#[test]
#[should_panic(expected = "normalized_entropy: expected E * heads = 4 * 2 values, found 4")]
fn wrong_alpha_length_panics() {
    normalized_entropy(&star(), &[0.25f64; 4], 2);
}

#[test]
fn fraction_in_region_counts() {
    let s = [-1.0f64, 0.0, 0.5, 2.0];
    assert_eq!(fraction_in_region(&s, |v| v <= 0.0), 0.5);
    assert_eq!(fraction_in_region(&s, |v| v > 10.0), 0.0);
    assert!(fraction_in_region(&[] as &[f64], |v| v <= 0.0).is_nan());
    assert_eq!(fraction_in_region(&[1u8, 2, 3], |v| v == 2), 1.0 / 3.0);
}

#[test]
fn gradient_statistics() {
    assert_eq!(l2_norm(&[3.0f64, 4.0]), 5.0);
    assert_eq!(l2_norm(&[3.0f32, -4.0]), 5.0);
    assert_eq!(l2_norm::<f64>(&[]), 0.0);
    // Squares overflow f64, the norm does not.
    let big = l2_norm(&[3e200f64, 4e200]);
    assert!(close(big / 5e200, 1.0, 1e-15), "{big}");
    assert!(l2_norm(&[1.0, f64::NAN]).is_nan());
    assert_eq!(l2_norm(&[1.0, f64::INFINITY]), f64::INFINITY);

    assert_eq!(ratio(1.0, 4.0), 0.25);
    assert!(ratio(0.0, 0.0).is_nan());
    assert!(ratio(1.0, 0.0).is_nan());
    assert!(update_ratio(&[0.0f64], &[1.0]).is_nan());

    // ‖(3, 4)‖ / ‖(6, 8)‖ = 0.5.
    assert_eq!(update_ratio(&[6.0f64, 8.0], &[9.0, 12.0]), 0.5);
    assert_eq!(update_ratio(&[1.0f32, 1.0], &[1.0, 1.0]), 0.0);

    assert_eq!(zero_fraction(&[0.0f64, -0.0, 1e-300, 2.0]), 0.5);
    assert!(zero_fraction::<f32>(&[]).is_nan());
}

#[test]
#[should_panic(expected = "update_ratio")]
fn update_ratio_length_mismatch_panics() {
    update_ratio(&[1.0f64], &[1.0, 2.0]);
}

#[test]
fn gradient_share_splits_squared_norms() {
    use ParamKind::*;
    let norms = [
        (Attention, 1.0),
        (Attention, 1.0),
        (Value, 2.0),
        (Value, 1.0),
        (Other, 1.0),
    ];
    // Squares: attention 1 + 1 = 2, value 4 + 1 = 5, other 1; total 8.
    let s = gradient_share(&norms);
    assert_eq!(
        s,
        GradientShare {
            attention: 0.25,
            value: 0.625,
            other: 0.125
        }
    );
    let z = gradient_share(&[(Attention, 0.0), (Value, 0.0)]);
    assert_eq!((z.attention, z.value, z.other), (0.0, 0.0, 0.0));
    assert!(gradient_share(&[(Attention, f64::NAN)]).attention.is_nan());
}

#[test]
fn saliency_ranks_in_edges() {
    let g = star();
    // Two heads. Edge 0 (from 1): |0.5·-2| + |0.5·0| = 1; edge 1 (from 2): 0.1·1 + 0.3·10 = 3.1;
    // edge 2 (from 3): 0.4·1 + 0.2·1 = 0.6; edge 3 (into node 1): anything.
    let alpha = vec![0.5f64, 0.5, 0.1, 0.3, 0.4, 0.2, 1.0, 1.0];
    let grad = vec![-2.0f64, 0.0, 1.0, -10.0, 1.0, 1.0, 5.0, 5.0];
    let s = saliency(&alpha, &grad);
    assert_eq!(s[0], 1.0);
    assert_eq!(s[3], 3.0);
    let ranked = rank_in_edges(&g, 0, &s, 2);
    let order: Vec<(usize, usize)> = ranked.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(order, vec![(1, 2), (0, 1), (2, 3)]);
    assert!(close(ranked[0].2, 3.1, 1e-15));
    assert!(close(ranked[2].2, 0.6, 1e-15));
    assert_eq!(rank_in_edges(&g, 1, &s, 2), vec![(3, 0, 10.0)]);
    assert!(rank_in_edges(&g, 2, &s, 2).is_empty());
}

#[test]
fn ranking_ties_and_nan() {
    let g = star();
    let ranked = rank_in_edges(&g, 0, &[1.0, f64::NAN, 1.0, 0.0], 1);
    let order: Vec<usize> = ranked.iter().map(|r| r.0).collect();
    assert_eq!(order, vec![0, 2, 1]);
}

fn kinds(f: &[Flag]) -> Vec<(FlagKind, &str)> {
    f.iter().map(|f| (f.kind, f.subject.as_str())).collect()
}

#[test]
fn healthy_run_raises_no_flags() {
    let norms = [1.0, 0.8, 0.5, 0.3];
    let entropy = [0.7, 0.95];
    let losses: Vec<f64> = (0..40).map(|t| 2.0 * 0.95f64.powi(t)).collect();
    let obs = Observations {
        grad_norms: vec![("conv1.att", &norms)],
        entropy: vec![("conv1", &entropy)],
        losses: &losses,
        train_acc: Some(UNDERFIT_ACCURACY),
    };
    assert!(flags(&obs).is_empty(), "{:?}", flags(&obs));
    assert!(flags(&Observations::default()).is_empty());
}

#[test]
fn gradient_flags() {
    let vanishing = [1e-3, 1e-8, 5e-11];
    let recovered = [1e-3, 5e-11, 1e-4];
    let grown = [1e-3, 1.0, 20.0];
    let huge = [1e7];
    let nan = [1.0, f64::NAN, f64::INFINITY];
    let steady = [0.5, 0.6];
    let obs = Observations {
        grad_norms: vec![
            ("a", &vanishing),
            ("b", &recovered),
            ("c", &grown),
            ("d", &huge),
            ("e", &nan),
            ("f", &steady),
            ("g", &[]),
        ],
        ..Default::default()
    };
    let f = flags(&obs);
    assert_eq!(
        kinds(&f),
        vec![
            (FlagKind::VanishingGradient, "a"),
            (FlagKind::ExplodingGradient, "c"),
            (FlagKind::ExplodingGradient, "d"),
            (FlagKind::NonFiniteGradient, "e"),
        ]
    );
    assert!(
        f[0].explanation.contains("5.000e-11"),
        "{}",
        f[0].explanation
    );
    assert!(f[3].explanation.contains("epoch 1"), "{}", f[3].explanation);
    for flag in &f {
        assert!(flag.explanation.ends_with('.'));
        assert_eq!(
            flag.explanation.matches(". ").count(),
            0,
            "{}",
            flag.explanation
        );
    }
}

#[test]
fn uniform_attention_flag() {
    let uniform = [0.99, 0.985];
    let borderline = [0.98, 0.98];
    let sharp = [0.99, 0.5];
    let nan_head = [f64::NAN, 0.999];
    let all_nan = [f64::NAN];
    let obs = Observations {
        entropy: vec![
            ("conv1", &uniform),
            ("conv2", &borderline),
            ("conv3", &sharp),
            ("conv4", &nan_head),
            ("conv5", &all_nan),
        ],
        ..Default::default()
    };
    let f = flags(&obs);
    assert_eq!(
        kinds(&f),
        vec![
            (FlagKind::UniformAttention, "conv1"),
            (FlagKind::UniformAttention, "conv4"),
        ]
    );
    assert!(f[0].explanation.contains("0.9875"), "{}", f[0].explanation);
}

#[test]
fn stalled_loss_flag() {
    let check = |losses: &[f64]| {
        kinds(&flags(&Observations {
            losses,
            ..Default::default()
        }))
        .into_iter()
        .map(|(k, s)| (k, s.to_string()))
        .collect::<Vec<_>>()
    };
    let flat: Vec<f64> = vec![1.0; 21];
    assert_eq!(
        check(&flat),
        vec![(FlagKind::StalledLoss, "loss".to_string())]
    );
    // 20 epochs only: not enough history.
    assert!(check(&flat[..20]).is_empty());
    // Relative change 0.0005 over the window: stalled; 0.002: not.
    let mut slow = vec![5.0; 30];
    slow[29] = 5.0 * (1.0 - 5e-4);
    assert_eq!(check(&slow).len(), 1);
    slow[29] = 5.0 * (1.0 - 2e-3);
    assert!(check(&slow).is_empty());
    // Only the last 21 values matter: an early drop does not hide a stall.
    let mut late = vec![1.0; 40];
    late[0] = 10.0;
    assert_eq!(check(&late).len(), 1);
    // Converged to (near) zero, or diverged: not a stall.
    assert!(check(&[0.0; 25]).is_empty());
    let mut nan = vec![1.0; 25];
    nan[24] = f64::NAN;
    assert!(check(&nan).is_empty());
}

#[test]
fn underfitting_is_flagged_below_the_threshold_only() {
    let at = |acc: f64| {
        flags(&Observations {
            train_acc: Some(acc),
            ..Default::default()
        })
    };
    assert_eq!(kinds(&at(0.415)), [(FlagKind::Underfitting, "train_acc")]);
    assert!(at(0.415)[0].explanation.contains("41.5 %"));
    assert!(at(UNDERFIT_ACCURACY).is_empty());
    assert!(at(1.0).is_empty());
}
