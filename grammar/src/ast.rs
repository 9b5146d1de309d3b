//! The syntax tree of a `.gat` file. Every node keeps the [`Span`] of its source text so that later
//! stages can point at it.

/// Byte offsets `[start, end)` into the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A name with its place in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name as written.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A whole `.gat` file: layers and at most one model.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// Blocks in source order.
    pub blocks: Vec<Block>,
    /// `use "other.gat";` items, in source order.
    pub uses: Vec<Use>,
}

/// `use "gatv2.gat";`: the layers of another file, read relative to this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    /// The path as written.
    pub path: StrLit,
    /// The whole item, `use` to `;`.
    pub span: Span,
}

/// `layer` or `model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `layer gatv2(slope = 0.2) { ... }`: one attention layer.
    Layer,
    /// `model two_layer(p = 0.6) { ... }`: layers chained under name prefixes, with a loss.
    Model,
}

/// `layer NAME(CONST = DEFAULT, ...) { STMT* }` or the same with `model`.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Layer or model.
    pub kind: BlockKind,
    /// Its name.
    pub name: Ident,
    /// Named numeric constants with defaults: `(slope = 0.2, p = 0.6)`.
    pub consts: Vec<ConstDecl>,
    /// The body.
    pub stmts: Vec<Stmt>,
    /// The whole block.
    pub span: Span,
}

/// `slope = 0.2`: a named constant and its default value.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstDecl {
    /// The constant's name.
    pub name: Ident,
    /// Its default.
    pub default: f64,
    /// `name = value`.
    pub span: Span,
}

/// A dimension in a `dims` list, with the size to use when the data cannot fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct DimDecl {
    /// Its name.
    pub name: Ident,
    /// `= 1`: the default size (a positive whole number).
    pub default: Option<usize>,
}

/// One statement of a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `dims F, H = 1, C;`
    Dims(Vec<DimDecl>),
    /// `self_loops;` — remove existing self loops, then append one loop per node after the original
    /// edges (PyG's `remove_self_loops` + `add_self_loops`, edge features of loops filled with the mean
    /// of the target's incoming edge features).
    SelfLoops(Span),
    /// `input x[n: node, f: F];`, `param W[h: H, f: F] as "lin.weight" [H, F];`, ...
    Tensor(TensorDecl),
    /// `output out;` or `output out as [node, H, C];` — the tensor the layer or model returns.
    Output(OutputStmt),
    /// `attention a;` — the attention tensor reported as `alpha`.
    Attention(Ident),
    /// `xl[n, h, c] = sum_f W[h, c, f] * x[n, f];`
    Equation(Equation),
    /// `h[n, d] = conv1: gatv2(x0, slope = 0.2);` — instantiate a layer under a name prefix (models only).
    Call(LayerCall),
    /// `loss = cross_entropy(out, y, train_mask);` — mean cross-entropy over a node mask (models only).
    Loss(LossStmt),
}

/// What a declared tensor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// `input`: data, differentiable (its gradient is reported).
    Input,
    /// `param`: learnable parameter.
    Param,
    /// `labels y[n: node] classes K;`: integer class labels of nodes (not differentiable).
    Labels,
    /// `mask train_mask[n: node];`: a 0/1 node mask (not differentiable).
    Mask,
}

/// `KIND NAME[AXES] (as "EXTERNAL" [EXT_SHAPE])? (classes DIM)?;`
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDecl {
    /// Input, parameter, labels or mask.
    pub kind: TensorKind,
    /// Its name inside the block.
    pub name: Ident,
    /// Its axes; the first may be a node or an edge axis, the rest are dense.
    pub axes: Vec<AxisDecl>,
    /// `as "lin_l.weight"`: the name it has in files (PyG `state_dict` names). Defaults to `name`.
    pub external: Option<StrLit>,
    /// `[H*C, F]`: its shape in files, when that groups several of `axes` into one (PyG stores
    /// `[H, C, F]` as `[H*C, F]`, the same memory). Each entry is a product of dimensions or 1.
    pub external_shape: Option<Vec<DimProduct>>,
    /// The `node` that starts the external shape of a node tensor (`[node, H*C]`).
    pub external_node: Option<Span>,
    /// `init xavier_normal(gain = relu)` (parameters): how training initialises it.
    pub init: Option<InitDecl>,
    /// `classes K` (labels only): the dimension the labels index.
    pub classes: Option<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// `output NAME (as [node, DIMS])?;`
#[derive(Clone, Debug, PartialEq)]
pub struct OutputStmt {
    /// The tensor returned.
    pub name: Ident,
    /// `[node, H, C]`: its layout in files after the node axis, each entry a product of
    /// dimensions or 1. `None`: PyG's, the dense axes flattened into one (`[node, H*C]`).
    pub layout: Option<Vec<DimProduct>>,
    /// The `[...]` of the layout (or the name without one).
    pub layout_span: Span,
}

/// `init SCHEME(ARG = VALUE, ...)` on a parameter declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct InitDecl {
    /// The scheme: `glorot`, `xavier_normal`, `zeros`, ...
    pub scheme: Ident,
    /// Its arguments, in order.
    pub args: Vec<InitArg>,
    /// The whole `init ...`.
    pub span: Span,
}

/// `gain = relu` or `gain = 1.5` in an `init`.
#[derive(Clone, Debug, PartialEq)]
pub struct InitArg {
    /// The argument's name.
    pub name: Ident,
    /// Its value.
    pub value: InitValue,
    /// The whole argument.
    pub span: Span,
}

/// The value of an `init` argument.
#[derive(Clone, Debug, PartialEq)]
pub enum InitValue {
    /// A number.
    Number(f64),
    /// A name, such as the nonlinearity of PyTorch's `calculate_gain("relu")`.
    Name(Ident),
}

/// A string literal and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    /// The text between the quotes.
    pub value: String,
    /// Including the quotes.
    pub span: Span,
}

/// `H*C` or `1` in an external shape.
#[derive(Clone, Debug, PartialEq)]
pub struct DimProduct {
    /// The factors; empty means the literal `1`.
    pub factors: Vec<Ident>,
    /// The whole product.
    pub span: Span,
}

/// One axis in a tensor declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisDecl {
    /// `n: node` — indexed by node.
    Node(Ident),
    /// `i <- j` — indexed by edge (from source `j` to target `i`).
    Edge {
        /// The target node's index name.
        target: Ident,
        /// The source node's index name.
        source: Ident,
    },
    /// `f: F` — a dense axis of dimension `F`.
    Dense {
        /// The index name.
        index: Ident,
        /// The dimension.
        dim: Ident,
    },
}

/// An index written in an access or on a left-hand side.
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    /// `n`, `h`, ... (a node or dense index).
    Var(Ident),
    /// `i <- j` (an edge from `j` to `i`).
    Edge {
        /// Target node index.
        target: Ident,
        /// Source node index.
        source: Ident,
        /// `i <- j`.
        span: Span,
    },
}

impl Index {
    /// Source span of the index.
    pub fn span(&self) -> Span {
        match self {
            Index::Var(v) => v.span,
            Index::Edge { span, .. } => *span,
        }
    }
}

/// `NAME[INDICES] = EXPR;` (`NAME = EXPR;` for a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// The tensor being defined.
    pub name: Ident,
    /// Its indices; a dense index may carry an explicit dimension (`t[n, h: H]`).
    pub indices: Vec<LhsIndex>,
    /// The right-hand side.
    pub rhs: Expr,
    /// The whole statement.
    pub span: Span,
}

/// A left-hand-side index, optionally annotated with its dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct LhsIndex {
    /// The index.
    pub index: Index,
    /// `h: H` — explicit dimension (needed only when the right-hand side does not fix it).
    pub dim: Option<Ident>,
}

/// `LHS = PREFIX: LAYER(ARG, ..., CONST = VALUE, ...);`
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCall {
    /// The model tensor receiving the layer's output (flattened to `[n, d]`).
    pub lhs: Ident,
    /// Indices written on the left-hand side (a node index and one dense index).
    pub indices: Vec<LhsIndex>,
    /// The name prefix of the instance (`conv1` gives parameters `conv1.lin_l.weight`, ...).
    pub prefix: Ident,
    /// The layer instantiated.
    pub layer: Ident,
    /// Model tensors bound to the layer's inputs, in declaration order.
    pub inputs: Vec<Ident>,
    /// Constant overrides: `slope = 0.1` or `dropout = p` (a model constant).
    pub consts: Vec<ConstArg>,
    /// The whole statement.
    pub span: Span,
}

/// `name = 0.1` or `name = other_const` in a layer call.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstArg {
    /// The layer's constant.
    pub name: Ident,
    /// Its value.
    pub value: ConstValue,
}

/// A literal or the name of a model constant.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstValue {
    /// A number.
    Number(f64, Span),
    /// A constant of the enclosing model.
    Name(Ident),
}

/// `loss = cross_entropy(logits, labels, mask);`
#[derive(Clone, Debug, PartialEq)]
pub struct LossStmt {
    /// The scalar defined (usually `loss`).
    pub name: Ident,
    /// The loss function (only `cross_entropy` for now).
    pub func: Ident,
    /// Its arguments: logits tensor `[n, k]`, labels, mask.
    pub args: Vec<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Reduction operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// `sum_...`
    Sum,
    /// `mean_...`
    Mean,
    /// `softmax_j` / `softmax_{j -> i}` (over the in-edges of the target)
    Softmax,
}

/// What a reduction ranges over.
#[derive(Clone, Debug, PartialEq)]
pub enum Binder {
    /// `sum_c`, `sum_{h, c}`, `sum_n`: dense indices (or, for a node index, all nodes).
    Vars(Vec<Ident>),
    /// `sum_{j -> i}`: the in-edges of target `i`, binding source `j`. `softmax_j` is written with
    /// `target: None`.
    InEdges {
        /// The source index bound by the reduction.
        source: Ident,
        /// The target node, when written.
        target: Option<Ident>,
    },
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `0.2`, `1e-3`
    Number(f64, Span),
    /// `slope` — a named constant.
    Name(Ident),
    /// `x[n, f]`, `alpha[i <- j, h]`
    Access {
        /// Tensor name.
        name: Ident,
        /// Indices.
        indices: Vec<Index>,
        /// The whole access.
        span: Span,
    },
    /// `a + b`, `a - b`, `a * b`, `a / b`
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `-a`
    Neg(Box<Expr>, Span),
    /// `a ^ 2` — power with a constant exponent.
    Pow {
        /// Base.
        base: Box<Expr>,
        /// Constant exponent.
        exponent: f64,
        /// The whole expression.
        span: Span,
    },
    /// `exp(a)`, `leaky_relu(a, slope)`, `dropout(a, p)`
    Call {
        /// Function name.
        func: Ident,
        /// Arguments.
        args: Vec<Expr>,
        /// The whole call.
        span: Span,
    },
    /// `sum_c body`, `mean_{j -> i} body`, `softmax_j body`
    Reduce {
        /// Operator.
        op: ReduceOp,
        /// Range.
        binder: Binder,
        /// Body (a product term: `sum_f W * x + b` is `(sum_f W * x) + b`).
        body: Box<Expr>,
        /// The whole reduction.
        span: Span,
    },
}

impl Expr {
    /// Source span of the expression.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(_, s) | Expr::Neg(_, s) => *s,
            Expr::Name(i) => i.span,
            Expr::Access { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Pow { span, .. }
            | Expr::Call { span, .. }
            | Expr::Reduce { span, .. } => *span,
        }
    }
}
