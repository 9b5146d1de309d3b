//! What the parser expected: pest's rule names turned into words, and the kind of statement that
//! failed.

use super::*;

/// Something the parser would have accepted at the error position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Want {
    Semi,
    Expr,
    Index,
    Binder,
    Axis,
    LayerArg,
    ConstValue,
    Number,
    Exponent,
    Str,
    Dim,
    DimProduct,
    One,
    Node,
    Name,
    Stmt,
    BlockKind,
    As,
    Classes,
    Init,
    InitName,
    Eq,
    Colon,
    LArrow,
    RArrow,
    Star,
    Minus,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Operator,
    Eoi,
}

impl Want {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Want::Semi => "`;`",
            Want::Expr => "an expression",
            Want::Index => "an index",
            Want::Binder => "a reduction index",
            Want::Axis => "an axis like `n: node`, `f: F` or `i <- j`",
            Want::LayerArg => "an input tensor or `constant = value`",
            Want::ConstValue => "a number or a constant name",
            Want::Number | Want::Exponent => "a number",
            Want::Str => "a quoted name like `\"lin.weight\"`",
            Want::Dim => "a dimension name like `F`",
            Want::DimProduct => "a dimension product like `H*C`, or `1`",
            Want::One => "`1`",
            Want::Node => "`node`",
            Want::Name => "a name",
            Want::Stmt => "a statement",
            Want::BlockKind => "`layer` or `model`",
            Want::As => "`as`",
            Want::Classes => "`classes`",
            Want::Init => "`init`",
            Want::InitName => "an initialisation like `glorot` or `xavier_normal(gain = relu)`",
            Want::Eq => "`=`",
            Want::Colon => "`:`",
            Want::LArrow => "`<-`",
            Want::RArrow => "`->`",
            Want::Star => "`*`",
            Want::Minus => "`-`",
            Want::Comma => "`,`",
            Want::LParen => "`(`",
            Want::RParen => "`)`",
            Want::LBracket => "`[`",
            Want::RBracket => "`]`",
            Want::LBrace => "`{`",
            Want::RBrace => "`}`",
            Want::Operator => "an operator",
            Want::Eoi => "end of input",
        }
    }

    /// Whether the thing would be a name (so a reserved word there deserves its own message).
    pub(super) fn is_name(self) -> bool {
        matches!(
            self,
            Want::Index
                | Want::Binder
                | Want::Axis
                | Want::Dim
                | Want::Name
                | Want::Stmt
                | Want::LayerArg
                | Want::ConstValue
                | Want::Expr
        )
    }

    /// The closing bracket this is, if any.
    pub(super) fn closer(self) -> Option<&'static str> {
        match self {
            Want::RParen => Some(")"),
            Want::RBracket => Some("]"),
            Want::RBrace => Some("}"),
            _ => None,
        }
    }
}

/// The words for a rule pest reports as expected. Exhaustive on purpose: a new rule must say how
/// it is shown to users.
pub(super) fn want(rule: Rule) -> Option<Want> {
    Some(match rule {
        Rule::semi => Want::Semi,
        Rule::comma => Want::Comma,
        Rule::colon => Want::Colon,
        Rule::eq => Want::Eq,
        Rule::lparen | Rule::const_params => Want::LParen,
        Rule::rparen => Want::RParen,
        Rule::lbrack | Rule::axes | Rule::ext_shape | Rule::indices | Rule::lhs_indices => {
            Want::LBracket
        }
        Rule::rbrack => Want::RBracket,
        Rule::lbrace => Want::LBrace,
        Rule::rbrace => Want::RBrace,
        Rule::larrow => Want::LArrow,
        Rule::rarrow => Want::RArrow,
        Rule::star => Want::Star,
        Rule::minus => Want::Minus,
        Rule::add_op | Rule::mul_op | Rule::pow_op => Want::Operator,
        Rule::number | Rule::signed_number => Want::Number,
        Rule::exponent => Want::Exponent,
        Rule::string => Want::Str,
        Rule::name | Rule::named | Rule::const_decl => Want::Name,
        Rule::call_args => Want::LParen,
        Rule::index_name | Rule::index | Rule::edge_index | Rule::lhs_index => Want::Index,
        Rule::binder_name | Rule::binder | Rule::binder_group | Rule::edge_binder => Want::Binder,
        Rule::axis | Rule::edge_axis | Rule::typed_axis => Want::Axis,
        Rule::layer_args | Rule::layer_arg | Rule::const_arg => Want::LayerArg,
        Rule::const_value => Want::ConstValue,
        Rule::dim_name | Rule::dim_decl => Want::Dim,
        Rule::dim_product => Want::DimProduct,
        Rule::one => Want::One,
        Rule::kw_node => Want::Node,
        Rule::kw_as | Rule::external | Rule::out_layout => Want::As,
        Rule::kw_init | Rule::init => Want::Init,
        Rule::init_name | Rule::init_arg => Want::InitName,
        Rule::kw_classes | Rule::classes => Want::Classes,
        Rule::block_kind | Rule::block | Rule::block_head | Rule::kw_use | Rule::use_item => {
            Want::BlockKind
        }
        Rule::stmt
        | Rule::decl_kind
        | Rule::kw_dims
        | Rule::kw_self_loops
        | Rule::kw_output
        | Rule::kw_attention
        | Rule::dims_stmt
        | Rule::self_loops_stmt
        | Rule::decl_stmt
        | Rule::output_stmt
        | Rule::attention_stmt
        | Rule::loss_stmt
        | Rule::call_stmt
        | Rule::equation => Want::Stmt,
        Rule::expr
        | Rule::product
        | Rule::unary
        | Rule::neg
        | Rule::reduction
        | Rule::reduce_op
        | Rule::power
        | Rule::paren
        | Rule::loss_func => Want::Expr,
        Rule::EOI | Rule::file => Want::Eoi,
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::ident_start
        | Rule::ident_char
        | Rule::reserved
        | Rule::name_text => return None,
    })
}

/// What kind of statement failed, for "expected `;` after the equation".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ctx {
    Header,
    Dims,
    SelfLoops,
    Decl,
    Output,
    Attention,
    Equation,
    LayerCall,
    Loss,
    Statement,
}

impl Ctx {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Ctx::Header => "the block header",
            Ctx::Dims => "the `dims` list",
            Ctx::SelfLoops => "`self_loops`",
            Ctx::Decl => "the declaration",
            Ctx::Output => "the `output` statement",
            Ctx::Attention => "the `attention` statement",
            Ctx::Equation => "the equation",
            Ctx::LayerCall => "the layer call",
            Ctx::Loss => "the loss",
            Ctx::Statement => "the statement",
        }
    }
}
