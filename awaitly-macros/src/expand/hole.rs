//! The stand-in for a [`Hole`]: it keeps the site's expressions and its type, so the code around it
//! type-checks as if the site were right and the user sees the one error already reported.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote_spanned;
use syn::spanned::Spanned;

use crate::site::{Hole, MacroKind};

/// A step's hole has the type of its expression, which is kept but never run; a hook's or an
/// approval's, like a construct's, has the type the context infers; a sleep's is `()`.
pub(super) fn hole(hole: &Hole) -> TokenStream {
    let span = Span::mixed_site().located_at(hole.path.span());
    let uses = hole
        .uses
        .iter()
        .map(|expression| quote_spanned! {span=> let _ = &(#expression); });
    let ident = Ident::new("__awaitly_hole", span);
    match (hole.kind, &hole.body) {
        (MacroKind::Step, Some(body)) => quote_spanned! {span=> {
            fn #ident<F: ::core::future::IntoFuture>(_: F) -> F::Output {
                ::core::unreachable!()
            }
            #ident(async { #(#uses)* #body })
        }},
        (MacroKind::Step, None) => quote_spanned! {span=> { #(#uses)* ::core::unreachable!() } },
        (MacroKind::Sleep, _) => quote_spanned! {span=> { #(#uses)* } },
        (
            MacroKind::AwaitHook
            | MacroKind::AwaitApproval
            | MacroKind::All
            | MacroKind::TryAll
            | MacroKind::Race
            | MacroKind::FanOut
            | MacroKind::TryFanOut
            | MacroKind::Child,
            _,
        ) => quote_spanned! {span=> {
            fn #ident<T>() -> T {
                ::core::unreachable!()
            }
            #(#uses)*
            #ident()
        }},
    }
}
