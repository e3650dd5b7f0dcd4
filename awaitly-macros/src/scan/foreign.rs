//! Sites inside other macros' arguments (`vec![step!(…)]`, `println!("{}", step!(…))`):
//! `#[workflow]` cannot parse those arguments, so each such site is found by a token walk and
//! replaced by a hole (and, unless silenced, its error).

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Macro, Token};

use super::salvage::delimiter_of;
use super::{Mode, Scanner};
use crate::site::MacroKind;

impl Scanner<'_> {
    /// Finds sites inside another macro's tokens and replaces each with a hole and its error.
    pub(super) fn foreign(&mut self, mac: &mut Macro) {
        let outer = mac
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string())
            .unwrap_or_default();
        mac.tokens = self.foreign_tokens(std::mem::take(&mut mac.tokens), &outer);
    }

    fn foreign_tokens(&mut self, tokens: TokenStream, outer: &str) -> TokenStream {
        let mut output = Vec::new();
        let mut trees = tokens.into_iter();
        while let Some(tree) = trees.next() {
            match tree {
                TokenTree::Ident(ident) => {
                    let kind = MacroKind::of_name(&ident.to_string());
                    let mut ahead = trees.clone();
                    let invocation = match (ahead.next(), ahead.next()) {
                        (Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group)))
                            if bang.as_char() == '!' =>
                        {
                            Some((bang.span(), group))
                        }
                        _ => None,
                    };
                    match (kind, invocation) {
                        (Some(kind), Some((bang, group))) => {
                            trees = ahead;
                            if self.mode == Mode::Check {
                                self.errors.push(syn::Error::new(
                                    ident.span(),
                                    format_args!(
                                        "`{}!` cannot be used inside the arguments of `{outer}!`; bind its result to a variable before `{outer}!`",
                                        kind.name()
                                    ),
                                ));
                            }
                            let mac = Macro {
                                path: ident.into(),
                                bang_token: Token![!](bang),
                                delimiter: delimiter_of(&group),
                                tokens: group.stream(),
                            };
                            output.extend(self.hole(&mac, kind).into_token_stream());
                        }
                        _ => output.push(TokenTree::Ident(ident)),
                    }
                }
                TokenTree::Group(group) => {
                    let mut rebuilt = Group::new(
                        group.delimiter(),
                        self.foreign_tokens(group.stream(), outer),
                    );
                    rebuilt.set_span(group.span());
                    output.push(TokenTree::Group(rebuilt));
                }
                other => output.push(other),
            }
        }
        output.into_iter().collect()
    }
}
