//! `gatgrad diagnose` below the CLI: which layers and nonlinearities it finds, the flat-region
//! fraction against a direct count, and a whole (tiny) diagnosis checked for consistency.

use gatgrad::diagnose::layers::{attention_layers, flat_fraction};
use gatgrad::diagnose::run::{diagnose, DiagnoseConfig, ModelFile};
use gatgrad::diagnose::synthetic::parse_spec;
use gatgrad::exec::{Generated, Session};
use gatgrad::runtime::Graph;
use gatgrad::synth::{dim_sizes, random_data};
use gatgrad::train::TrainConfig;
use gatgrad::zoo::*;

fn read(path: &str) -> String {
    let full = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    gatgrad::gather_file(&full).unwrap().source.text
}

#[test]
fn finds_each_layer_and_its_score_nonlinearity() {
    for (p, func) in [
        (GatV2TwoLayer::program(), "leaky_relu"),
        (GatTwoLayer::program(), "leaky_relu"),
        (GatPlusTwoLayer::program(), "softplus"),
    ] {
        let layers = attention_layers(&p);
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["conv1", "conv2"], "{}", p.name);
        for l in &layers {
            assert_eq!(p.tensor(l.alpha).name, format!("{}.a", l.name));
            assert!(l.adjoint.is_some(), "{}: no d α", p.name);
            let score = l.score.as_ref().expect("a score nonlinearity");
            assert_eq!(score.func.signature().0, func, "{}", p.name);
        }
    }
    // A layer file on its own: the layer is named after the program.
    let layers = attention_layers(&Gat::program());
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].name, "gat");
}

fn session<G: Generated>(heads: usize) -> Session<f64> {
    let p = G::program();
    let g = Graph::new(
        9,
        vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 2, 4, 6],
        vec![1, 1, 1, 2, 2, 3, 4, 4, 4, 5, 5, 6, 6],
    )
    .unwrap();
    let dims = dim_sizes(&p, |n| match n {
        "H" => heads,
        "C" => 3,
        _ => 4,
    });
    let data = random_data(&p, &g, &dims, 7);
    let mut s: Session<f64> = Session::new(p, &data, G::NUM_TENSORS).unwrap();
    s.forward::<G>();
    s
}

/// GATv2 never stores `z = xl[j] + xr[i]` (it is inlined); the fraction of negative entries must
/// equal a direct count over edges, heads and channels.
#[test]
fn flat_fraction_of_gatv2_counts_negative_pre_activations() {
    let heads = 2;
    let s = session::<GatV2>(heads);
    let p = &s.program;
    let layer = &attention_layers(p)[0];
    let id = |name: &str| {
        let k = p.tensors.iter().position(|t| t.name == name).unwrap();
        gatgrad::codegen::ir::TensorId(k as u32)
    };
    let (xl, xr) = (s.value(id("xl")), s.value(id("xr")));
    let graph = &s.bound.graphs[layer.graph.index()];
    let c = 3;
    let mut negative = vec![0usize; heads];
    for e in 0..graph.num_edges() {
        let (j, i) = (graph.src(e), graph.dst(e));
        for h in 0..heads {
            for k in 0..c {
                let z = xl[(j * heads + h) * c + k] + xr[(i * heads + h) * c + k];
                negative[h] += usize::from(z < 0.0);
            }
        }
    }
    let score = layer.score.as_ref().unwrap();
    let got = flat_fraction(p, &s.bound, s.values.as_slice(), score, heads);
    for h in 0..heads {
        let want = negative[h] as f64 / (graph.num_edges() * c) as f64;
        assert_eq!(got[h], want, "head {h}");
    }
    assert!(
        negative.iter().sum::<usize>() > 0,
        "a test that cannot fail"
    );
}

/// GAT's pre-activation `a_src[j] + a_dst[i]` is per edge and head.
#[test]
fn flat_fraction_of_gat_counts_negative_scores() {
    let heads = 3;
    let s = session::<Gat>(heads);
    let p = &s.program;
    let layer = &attention_layers(p)[0];
    let id = |name: &str| {
        let k = p.tensors.iter().position(|t| t.name == name).unwrap();
        gatgrad::codegen::ir::TensorId(k as u32)
    };
    let (src, dst) = (s.value(id("a_src")), s.value(id("a_dst")));
    let graph = &s.bound.graphs[layer.graph.index()];
    let score = layer.score.as_ref().unwrap();
    let got = flat_fraction(p, &s.bound, s.values.as_slice(), score, heads);
    for h in 0..heads {
        let negative = (0..graph.num_edges())
            .filter(|&e| src[graph.src(e) * heads + h] + dst[graph.dst(e) * heads + h] < 0.0)
            .count();
        assert_eq!(
            got[h],
            negative as f64 / graph.num_edges() as f64,
            "head {h}"
        );
    }
}

#[test]
fn a_small_diagnosis_is_complete_and_consistent() {
    let ds = parse_spec("sparse:nodes=300,degree=4,seed=3").unwrap();
    let cfg = DiagnoseConfig {
        seeds: 2,
        train: TrainConfig {
            epochs: 4,
            patience: usize::MAX,
            heads: 2,
            hidden: 4,
            ..TrainConfig::default()
        },
        explain: None,
        explain_worst: 2,
    };
    let models = [
        ModelFile {
            path: "models/gatv2.gat".into(),
            source: read("models/gatv2.gat"),
        },
        ModelFile {
            path: "models/gat.gat".into(),
            source: read("models/gat.gat"),
        },
    ];
    let mut seen = 0;
    let d = diagnose(&models, &ds, "sparse", &cfg, |_| seen += 1).unwrap();
    assert_eq!(seen, 2 * 2 * 4);
    assert_eq!(d.models.len(), 2);
    for (m, params) in d.models.iter().zip([12, 8]) {
        assert_eq!(m.layers, ["conv1", "conv2"]);
        assert_eq!(m.heads, [2, 1]);
        assert_eq!(m.params.len(), params, "{}", m.model);
        assert_eq!(m.runs.len(), 2);
        for run in &m.runs {
            assert_eq!(run.epochs.len(), 4);
            for e in &run.epochs {
                assert_eq!(e.params.len(), params);
                for l in &e.layers {
                    for v in l
                        .entropy
                        .iter()
                        .chain(&l.max_attention)
                        .chain(&l.flat_fraction)
                    {
                        assert!((0.0..=1.0).contains(v), "{v}");
                    }
                    let shares = l.attention_share + l.value_share;
                    assert!(shares > 0.99 && shares <= 1.0 + 1e-12, "{shares}");
                }
            }
            assert_eq!(run.entropy_first.len(), 2);
            assert_eq!(run.entropy_first[0].len(), run.entropy_last[0].len());
            // Two explained nodes, two layers each; each node's attention sums to one.
            assert_eq!(run.explanations.len(), 4);
            for x in &run.explanations {
                assert!(ds.test_mask[x.node]);
                let total: f64 = x.edges.iter().map(|e| e.alpha).sum();
                assert!((total - 1.0).abs() < 1e-5, "{total}");
                let mut ranks: Vec<usize> = x.edges.iter().map(|e| e.rank_alpha).collect();
                ranks.sort();
                assert_eq!(ranks, (1..=x.edges.len()).collect::<Vec<_>>());
                assert!(x.edges.windows(2).all(|w| w[0].saliency >= w[1].saliency));
            }
            // The worst-classified node comes first.
            assert!(run.explanations[0].p_true <= run.explanations[2].p_true);
        }
        let last = &m.runs[0].epochs[3];
        let mean = (m.runs[0].epochs[3].train_acc + m.runs[1].epochs[3].train_acc) / 2.0;
        assert_eq!(m.final_mean.train_acc, mean);
        assert!(last.loss.is_finite());
    }
    let lines = gatgrad::diagnose::output::metrics_lines(&d);
    assert_eq!(lines.len(), 2 * 2 * 4);
    let summary = gatgrad::diagnose::output::summary(&d);
    for key in [
        "model",
        "dataset",
        "seeds",
        "train_acc",
        "val_acc",
        "test_acc",
        "loss",
        "flags",
    ] {
        assert!(
            summary["models"][0].get(key).is_some(),
            "summary lacks {key}"
        );
    }
}

#[test]
fn bad_settings_are_errors() {
    let ds = parse_spec("sparse:nodes=50,degree=3").unwrap();
    let cfg = DiagnoseConfig {
        explain: Some(vec![50]),
        ..DiagnoseConfig::default()
    };
    let gatv2 = [ModelFile {
        path: "models/gatv2.gat".into(),
        source: read("models/gatv2.gat"),
    }];
    let e = diagnose(&gatv2, &ds, "sparse", &cfg, |_| {}).unwrap_err();
    assert!(e.contains("node 50 does not exist"), "{e}");
    let agnn = [ModelFile {
        path: "models/agnn.gat".into(),
        source: read("models/agnn.gat"),
    }];
    let e = diagnose(&agnn, &ds, "sparse", &DiagnoseConfig::default(), |_| {}).unwrap_err();
    assert!(e.starts_with("models/agnn.gat: "), "{e}");
}

/// The saliency of the output layer's edges, computed by hand from the final tensors: for the
/// explained node `i`'s own cross-entropy, `∂L/∂α[e, h] = (1/H) Σ_c (p_c − [y_i = c]) · xl[j, h, c]`.
#[test]
fn output_layer_saliency_matches_a_hand_computation() {
    struct Check {
        ds: gatgrad::runtime::Dataset,
        checked: usize,
    }
    impl gatgrad::train::Observer for Check {
        fn at_end(&mut self, run: &mut gatgrad::train::FinalState) {
            let s = &*run.session;
            let p = s.program.clone();
            let layers = attention_layers(&p);
            let heads: Vec<usize> = layers
                .iter()
                .map(|l| s.value(l.alpha).len() / s.bound.graphs[l.graph.index()].num_edges())
                .collect();
            let conv2 = &layers[1];
            let graph = s.bound.graphs[conv2.graph.index()].clone();
            let k = self.ds.num_classes;
            let node = (0..self.ds.num_nodes)
                .find(|n| self.ds.test_mask[*n] && graph.in_edges(*n).len() >= 3)
                .unwrap();
            let logits = &s.value(p.output)[node * k..(node + 1) * k];
            let mx = logits.iter().fold(f32::MIN, |m, v| m.max(*v)) as f64;
            let z: f64 = logits.iter().map(|v| (*v as f64 - mx).exp()).sum();
            let g: Vec<f64> = (0..k)
                .map(|c| {
                    let y = f64::from(u8::from(self.ds.y[node] == c));
                    (logits[c] as f64 - mx).exp() / z - y
                })
                .collect();
            let xl_id = p.tensors.iter().position(|t| t.name == "conv2.xl").unwrap();
            let xl = &s.values[xl_id];
            let alpha = s.value(conv2.alpha);
            let h = heads[1];
            let want: Vec<(usize, f64)> = graph
                .in_edges(node)
                .iter()
                .map(|&e| {
                    let (e, j) = (e as usize, graph.src(e as usize));
                    let sal: f64 = (0..h)
                        .map(|hh| {
                            let d: f64 = (0..k)
                                .map(|c| g[c] * xl[(j * h + hh) * k + c] as f64)
                                .sum::<f64>()
                                / h as f64;
                            (alpha[e * h + hh] as f64 * d).abs()
                        })
                        .sum();
                    (e, sal)
                })
                .collect();
            // Explanations name edges by their PyG id.
            let origin = s.bound.edge_origin(conv2.graph).to_vec();
            let got =
                gatgrad::diagnose::run::explain(&self.ds, Some(&[node]), 0, &layers, &heads, run);
            let x = got.iter().find(|x| x.layer == "conv2").unwrap();
            assert_eq!(x.node, node);
            for (e, sal) in want {
                let pyg = origin[e] as usize;
                let edge = x.edges.iter().find(|x| x.edge == pyg).unwrap();
                assert!(
                    (edge.saliency - sal).abs() <= 1e-4 * sal.max(1e-3),
                    "edge {e}: {} vs {sal}",
                    edge.saliency
                );
                assert!(sal > 0.0, "a test that cannot fail");
                self.checked += 1;
            }
        }
    }
    let ds = parse_spec("sparse:nodes=120,degree=4,seed=5").unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        heads: 2,
        hidden: 4,
        out_heads: 2,
        ..TrainConfig::default()
    };
    let mut check = Check { ds, checked: 0 };
    let ds = check.ds.clone();
    gatgrad::train::train_observed::<GatV2TwoLayer>(&ds, &cfg, &mut check).unwrap();
    assert!(check.checked >= 3);
}
