//! Credit default swaps (single name and index) and CDS index options.

use roxmltree::Node;
use serde_json::json;

use super::{Ctx, Mapped};

pub(crate) fn cds<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
pub(crate) fn cds_option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped { qualifier: None, economic_terms: json!({}), premiums: vec![] }
}
