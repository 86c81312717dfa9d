//! Equity options, equity swaps, commodity options and bond options.

use roxmltree::Node;
use serde_json::json;

use super::{Ctx, Mapped};

pub(crate) fn option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
pub(crate) fn return_swap<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
pub(crate) fn commodity_option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
pub(crate) fn bond_option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
