//! The typed IR: tensors with a graph domain and dense dimensions, index variables, and a hash-consed
//! expression arena.
//!
//! Architecture invariant: an [`ExprId`] always refers to a node whose children have smaller ids
//! (children before parents), and structurally equal nodes share one id, so equality of ids is
//! equality of expressions and common subexpressions are shared for free.

use std::collections::HashMap;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// Position in the owning table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// An expression node in [`Arena`].
    ExprId
);
id_type!(
    /// A dimension in [`Program::dims`].
    DimId
);
id_type!(
    /// A tensor in [`Program::tensors`].
    TensorId
);
id_type!(
    /// An index variable in [`Program::vars`].
    VarId
);
id_type!(
    /// A named numeric constant in [`Program::scalars`].
    ScalarId
);
id_type!(
    /// A graph variant in [`Program::graphs`].
    GraphId
);

/// A named dimension (`F`, `H`, `conv1.C`). Its size is known only when tensors are bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    /// Display name.
    pub name: String,
}

/// Which graph the edges of an edge tensor belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphKind {
    /// The edges as given in `edge_index`.
    Raw,
    /// Existing self loops removed, one loop per node appended (PyG `add_self_loops`).
    SelfLoops,
}

/// The leading axis of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Domain {
    /// No graph axis: only dense axes (parameters, scalars).
    Dense,
    /// One entry per node.
    Node,
    /// One entry per edge of the graph.
    Edge(GraphId),
}

/// What a tensor is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Data given by the user; differentiable.
    Input,
    /// A learnable parameter.
    Param,
    /// Integer class labels of nodes, in `0..classes`.
    Labels {
        /// The number of classes.
        classes: DimId,
    },
    /// A 0/1 node mask.
    Mask,
    /// A dropout mask with entries `0` or `1 / (1 - p)`, supplied by the runtime (all ones when
    /// evaluating).
    Dropout {
        /// The drop probability.
        p: Scalar,
    },
    /// Defined by an equation.
    Defined,
    /// The gradient of the loss with respect to another tensor (`∂xl`).
    Adjoint(TensorId),
}

impl Role {
    /// Inputs and parameters receive gradients.
    pub fn is_leaf_differentiable(&self) -> bool {
        matches!(self, Role::Input | Role::Param)
    }
}

/// A tensor: a graph axis (maybe) followed by dense axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Display name, with the instance prefix (`conv1.xl`).
    pub name: String,
    /// Name in files (`conv1.lin_l.weight`); equals `name` unless declared with `as`.
    pub external: String,
    /// Graph axis.
    pub domain: Domain,
    /// Dense axes.
    pub dims: Vec<DimId>,
    /// Shape in files, as groups of dense dims whose product is one file axis (an empty group is a
    /// literal 1). `None`: the natural shape.
    pub external_shape: Option<Vec<Vec<DimId>>>,
    /// What it is.
    pub role: Role,
    /// Index names used when printing its equations (graph index first).
    pub index_names: Vec<String>,
}

/// A numeric constant: a literal or a named constant of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// A literal (as bits, so it can be hashed).
    Lit(u64),
    /// A named constant.
    Named(ScalarId),
}

impl Scalar {
    /// A literal.
    pub fn lit(v: f64) -> Scalar {
        Scalar::Lit(v.to_bits())
    }
}

/// A named numeric constant (`slope = 0.2`), overridable at run time.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedScalar {
    /// Display name (`conv1.slope`).
    pub name: String,
    /// Default value.
    pub default: f64,
}

/// What an index variable ranges over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VarKind {
    /// A dense axis.
    Dense(DimId),
    /// Nodes.
    Node,
    /// Edges of a graph variant.
    Edge(GraphId),
}

/// An index variable. Edge variables print as `target <- source`.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    /// Display name (for an edge variable, unused).
    pub name: String,
    /// Range.
    pub kind: VarKind,
    /// Edge variables: the name of the target end.
    pub target: String,
    /// Edge variables: the name of the source end.
    pub source: String,
}

/// Where an access sits in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum At {
    /// A node variable.
    Node(VarId),
    /// The source node of an edge variable.
    Src(VarId),
    /// The target node of an edge variable.
    Dst(VarId),
    /// An edge variable.
    Edge(VarId),
}

impl At {
    /// The variable it reads.
    pub fn var(self) -> VarId {
        match self {
            At::Node(v) | At::Src(v) | At::Dst(v) | At::Edge(v) => v,
        }
    }
}

/// What a reduction ranges over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Range {
    /// A dense axis.
    Dense(VarId),
    /// The in-edges `edge` of a node (`sum_{j -> i}`).
    InEdges {
        /// The bound edge variable.
        edge: VarId,
        /// The node whose in-edges are visited.
        of: At,
    },
    /// The out-edges `edge` of a node (`sum_{i : j -> i}`), the transposed graph.
    OutEdges {
        /// The bound edge variable.
        edge: VarId,
        /// The node whose out-edges are visited.
        of: At,
    },
    /// All nodes.
    AllNodes(VarId),
    /// All edges of a graph variant.
    AllEdges(VarId),
}

impl Range {
    /// The variable the range binds.
    pub fn var(self) -> VarId {
        match self {
            Range::Dense(v) | Range::AllNodes(v) | Range::AllEdges(v) => v,
            Range::InEdges { edge, .. } | Range::OutEdges { edge, .. } => edge,
        }
    }
}

/// Reduction operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Mean (0 over an empty range).
    Mean,
    /// `log Σ exp` (dense axes only).
    LogSumExp,
}

pub use crate::init::Init;
pub use crate::primitives::Func;

/// One expression node. Children are [`ExprId`]s into the same [`Arena`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A numeric constant.
    Const(Scalar),
    /// `A[at, d1, d2, ...]`
    Access {
        /// The tensor read.
        tensor: TensorId,
        /// Its graph index, if it has a graph axis.
        at: Option<At>,
        /// Its dense indices.
        dense: Vec<VarId>,
    },
    /// `a + b`
    Add(ExprId, ExprId),
    /// `a - b`
    Sub(ExprId, ExprId),
    /// `a * b`
    Mul(ExprId, ExprId),
    /// `a / b`
    Div(ExprId, ExprId),
    /// `-a`
    Neg(ExprId),
    /// `a ^ p`
    Pow(ExprId, Scalar),
    /// `f(a, constants...)`
    Call(Func, ExprId, Option<Scalar>),
    /// A reduction over a range.
    Reduce {
        /// Operator.
        op: ReduceOp,
        /// Range (binds a variable).
        range: Range,
        /// Body.
        body: ExprId,
    },
    /// `[y[n] = k]`: 1 if the label of node `at` is `k`.
    OneHot {
        /// The labels tensor.
        labels: TensorId,
        /// Its node.
        at: At,
        /// The class index.
        class: VarId,
    },
    /// The number of nodes where the mask is set.
    MaskCount(TensorId),
    /// The size of a dimension (`sqrt(C)`).
    DimSize(DimId),
}

/// A hash-consing arena of expression nodes.
#[derive(Clone, Debug, Default)]
pub struct Arena {
    nodes: Vec<Node>,
    free: Vec<Vec<VarId>>,
    ids: HashMap<Node, ExprId>,
}

impl PartialEq for Arena {
    /// Two arenas are equal when they hold the same nodes under the same ids.
    fn eq(&self, other: &Arena) -> bool {
        self.nodes == other.nodes
    }
}

impl Arena {
    /// The arena holding `nodes` under ids `0, 1, ...` (as [`Arena::intern`] would have built it),
    /// for programs that generated code carries as data.
    ///
    /// # Panics
    /// When a node repeats an earlier one or names a child that comes after it: such a list was
    /// not read off an arena.
    pub fn from_nodes(nodes: Vec<Node>) -> Arena {
        let mut arena = Arena::default();
        for (k, node) in nodes.into_iter().enumerate() {
            assert!(
                arena.children_of(&node).iter().all(|c| c.index() < k),
                "node {k} names a later child"
            );
            let id = arena.intern(node);
            assert_eq!(id.index(), k, "node {k} repeats node {}", id.index());
        }
        arena
    }
    /// The node behind an id.
    pub fn get(&self, id: ExprId) -> &Node {
        &self.nodes[id.index()]
    }
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    /// Interns a node exactly as given (no simplification).
    pub fn intern(&mut self, node: Node) -> ExprId {
        if let Some(&id) = self.ids.get(&node) {
            return id;
        }
        let id = ExprId(self.nodes.len() as u32);
        let free = self.compute_free(&node);
        self.nodes.push(node.clone());
        self.free.push(free);
        self.ids.insert(node, id);
        id
    }
    /// The free variables of an expression, sorted.
    pub fn free_vars(&self, id: ExprId) -> &[VarId] {
        &self.free[id.index()]
    }
    /// True when `var` occurs free in the expression.
    pub fn mentions(&self, id: ExprId, var: VarId) -> bool {
        self.free[id.index()].binary_search(&var).is_ok()
    }
    fn compute_free(&self, node: &Node) -> Vec<VarId> {
        let mut out: Vec<VarId> = Vec::new();
        match node {
            Node::Const(_) | Node::MaskCount(_) | Node::DimSize(_) => {}
            Node::Access { at, dense, .. } => {
                out.extend(at.map(At::var));
                out.extend(dense.iter().copied());
            }
            Node::OneHot { at, class, .. } => {
                out.push(at.var());
                out.push(*class);
            }
            Node::Reduce { range, body, .. } => {
                let bound = range.var();
                out.extend(
                    self.free[body.index()]
                        .iter()
                        .copied()
                        .filter(|&v| v != bound),
                );
                if let Range::InEdges { of, .. } | Range::OutEdges { of, .. } = range {
                    out.push(of.var());
                }
            }
            _ => {
                for c in self.children_of(node) {
                    out.extend(self.free[c.index()].iter().copied());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
    /// The literal value of a node, if it is one.
    pub fn lit(&self, id: ExprId) -> Option<f64> {
        match self.get(id) {
            Node::Const(Scalar::Lit(b)) => Some(f64::from_bits(*b)),
            _ => None,
        }
    }
    /// The children of a node.
    pub fn children(&self, id: ExprId) -> Vec<ExprId> {
        self.children_of(self.get(id))
    }
    fn children_of(&self, node: &Node) -> Vec<ExprId> {
        match node {
            Node::Const(_)
            | Node::Access { .. }
            | Node::OneHot { .. }
            | Node::MaskCount(_)
            | Node::DimSize(_) => vec![],
            Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => vec![*a, *b],
            Node::Neg(a) | Node::Pow(a, _) | Node::Call(_, a, _) => vec![*a],
            Node::Reduce { body, .. } => vec![*body],
        }
    }
}

/// What defines a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Rhs {
    /// An expression over the left-hand-side variables.
    Expr(ExprId),
    /// `softmax_j body` over the in-edges of each target, PyG style (per-target max subtracted, 1e-16
    /// added to the denominator). The body is an expression over the left-hand-side variables.
    Softmax(ExprId),
    /// The same memory as another tensor, viewed with other dense dims of equal total size.
    Reshape(TensorId),
    /// Edge features on the self-loop graph: original edges copy `of` (an edge tensor on the raw
    /// graph), each appended loop takes the mean of its target's incoming non-loop features.
    LoopFill(TensorId),
    /// The adjoint of [`Rhs::LoopFill`]: each original edge collects its own gradient plus its share
    /// of its target's loop gradient (an edge tensor on the self-loop graph).
    LoopFillAdjoint(TensorId),
    /// Mean cross-entropy of `logits[n, k]` against `labels[n]` over nodes where `mask` is set.
    CrossEntropy {
        /// Logits `[n, k]`.
        logits: TensorId,
        /// Labels `[n]`.
        labels: TensorId,
        /// Node mask `[n]`.
        mask: TensorId,
    },
}

/// `lhs[vars] = rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// The tensor defined.
    pub lhs: TensorId,
    /// One variable per axis of `lhs` (graph axis first).
    pub vars: Vec<VarId>,
    /// The definition.
    pub rhs: Rhs,
}

/// A lowered, checked layer or model: everything needed to evaluate and differentiate it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    /// Name of the layer or model.
    pub name: String,
    /// Dimensions.
    pub dims: Vec<Dim>,
    /// Named constants.
    pub scalars: Vec<NamedScalar>,
    /// Graph variants used.
    pub graphs: Vec<GraphKind>,
    /// Tensors.
    pub tensors: Vec<Tensor>,
    /// Index variables.
    pub vars: Vec<Var>,
    /// Expressions.
    pub arena: Arena,
    /// Forward equations in evaluation order.
    pub equations: Vec<Equation>,
    /// The output tensor.
    pub output: TensorId,
    /// The scalar loss, for a model with one.
    pub loss: Option<TensorId>,
    /// The attention tensor reported as `alpha`, if declared.
    pub attention: Option<TensorId>,
    /// Dimensions known to be equal: each dim's representative (index = dim).
    pub dim_repr: Vec<DimId>,
    /// Declared default sizes (`dims H = 1`), used when the data cannot fix a dimension.
    pub dim_defaults: Vec<Option<usize>>,
    /// Dimensions defined as a product of others (a flattened layer output).
    pub dim_products: Vec<(DimId, Vec<DimId>)>,
    /// Derivative equations in evaluation order (filled by [`crate::differentiate`]).
    pub backward: Vec<Equation>,
    /// For each input and parameter that receives a gradient: the tensor holding it.
    pub grads: Vec<(TensorId, TensorId)>,
    /// The adjoint tensor the caller supplies (`∂out`), for a layer without a loss.
    pub seed: Option<TensorId>,
    /// Parameters declared with `init ...`, in declaration order; the others get the default.
    pub inits: Vec<(TensorId, crate::init::Init)>,
}

impl Program {
    /// How parameter `t` is initialised, if its declaration says (`init ...`).
    pub fn init_of(&self, t: TensorId) -> Option<crate::init::Init> {
        self.inits.iter().find(|(p, _)| *p == t).map(|(_, i)| *i)
    }
    /// Adds a dimension.
    pub fn add_dim(&mut self, name: impl Into<String>) -> DimId {
        self.dims.push(Dim { name: name.into() });
        let id = DimId(self.dims.len() as u32 - 1);
        self.dim_repr.push(id);
        self.dim_defaults.push(None);
        id
    }
    /// The representative of a dimension's equality class.
    pub fn dim_root(&self, mut d: DimId) -> DimId {
        while self.dim_repr[d.index()] != d {
            d = self.dim_repr[d.index()];
        }
        d
    }
    /// Records that two dimensions are equal.
    pub fn unify_dims(&mut self, a: DimId, b: DimId) {
        let (ra, rb) = (self.dim_root(a), self.dim_root(b));
        if ra != rb {
            let (keep, drop) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.dim_repr[drop.index()] = keep;
        }
    }
    /// Adds a tensor.
    pub fn add_tensor(&mut self, t: Tensor) -> TensorId {
        self.tensors.push(t);
        TensorId(self.tensors.len() as u32 - 1)
    }
    /// Adds a variable.
    pub fn add_var(&mut self, name: impl Into<String>, kind: VarKind) -> VarId {
        let name = name.into();
        self.vars.push(Var {
            name: name.clone(),
            kind,
            target: name.clone(),
            source: name,
        });
        VarId(self.vars.len() as u32 - 1)
    }
    /// Adds an edge variable printed as `target <- source`.
    pub fn add_edge_var(&mut self, target: &str, source: &str, graph: GraphId) -> VarId {
        self.vars.push(Var {
            name: format!("{target}<-{source}"),
            kind: VarKind::Edge(graph),
            target: target.into(),
            source: source.into(),
        });
        VarId(self.vars.len() as u32 - 1)
    }
    /// Returns the graph variant id, adding it if needed.
    pub fn graph(&mut self, kind: GraphKind) -> GraphId {
        if let Some(k) = self.graphs.iter().position(|g| *g == kind) {
            return GraphId(k as u32);
        }
        self.graphs.push(kind);
        GraphId(self.graphs.len() as u32 - 1)
    }
    /// The tensor behind an id.
    pub fn tensor(&self, id: TensorId) -> &Tensor {
        &self.tensors[id.index()]
    }
    /// The variable behind an id.
    pub fn var(&self, id: VarId) -> &Var {
        &self.vars[id.index()]
    }
    /// Looks a tensor up by display name.
    pub fn find_tensor(&self, name: &str) -> Option<TensorId> {
        self.tensors
            .iter()
            .position(|t| t.name == name)
            .map(|k| TensorId(k as u32))
    }
    /// Parameters and inputs in declaration order.
    pub fn leaves(&self) -> impl Iterator<Item = TensorId> + '_ {
        (0..self.tensors.len())
            .map(|k| TensorId(k as u32))
            .filter(|&t| self.tensor(t).role.is_leaf_differentiable())
    }
    /// The value of a scalar under the given named-constant values.
    pub fn scalar_value(&self, s: Scalar, values: &[f64]) -> f64 {
        match s {
            Scalar::Lit(b) => f64::from_bits(b),
            Scalar::Named(id) => values[id.index()],
        }
    }
    /// Appends every tensor read by expression `e` (with repetitions) to `out`.
    /// The walk keeps an explicit stack (a derivative's sum can have a term per equation of the
    /// program) and visits nodes in the order of a recursive pre-order walk.
    pub fn tensors_read(&self, e: ExprId, out: &mut Vec<TensorId>) {
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            if let Node::Access { tensor, .. } = self.arena.get(e) {
                out.push(*tensor);
            }
            stack.extend(self.arena.children(e).into_iter().rev());
        }
    }

    /// The equation defining a tensor.
    pub fn definition(&self, t: TensorId) -> Option<&Equation> {
        self.equations.iter().find(|e| e.lhs == t)
    }
}
