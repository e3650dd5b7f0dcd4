//! Holes: well-typed stand-ins for sites whose error is already reported, so one mistake gives one
//! error and no cascade.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::quote_spanned;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Macro, MacroDelimiter, Token};

use super::{Scanner, wrap};
use crate::site::{self, ApprovalArgs, HookArgs, HookTarget, MacroKind, SleepArgs, StepArgs};

impl Scanner<'_> {
    /// A stand-in for a site whose error is already recorded: it keeps the site's expressions and
    /// type, so the code around it type-checks as if the site were right and the user sees that
    /// one error, with no cascade (`?` on `!`, unused variables, unreachable code). Sites nested in
    /// its arguments are silenced: they belong to the same mistake.
    pub(super) fn hole(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        let span = Span::mixed_site().located_at(mac.path.span());
        let krate = self.krate.take();
        let tokens = match kind {
            MacroKind::Step => self.step_hole(mac, span),
            MacroKind::AwaitHook | MacroKind::AwaitApproval | MacroKind::Sleep => {
                self.typed_hole(mac, kind, span)
            }
        };
        self.krate = krate;
        syn::parse2(wrap(mac, &tokens)).unwrap_or_else(|_| placeholder(span))
    }

    /// A step's hole has the type of its expression, which is kept but never run.
    fn step_hole(&mut self, mac: &Macro, span: Span) -> TokenStream {
        let (uses, body) = if let Ok(args) = mac.parse_body::<StepArgs>() {
            (args.options.into_values().collect(), Some(args.body))
        } else {
            let salvage = salvage(&mac.tokens);
            (salvage.expressions, salvage.body)
        };
        let uses = self.uses(uses, span);
        let Some(mut body) = body else {
            let placeholder = placeholder(span);
            return quote_spanned! {span=> { #(#uses)* #placeholder } };
        };
        self.visit_expr_mut(&mut body);
        let hole = Ident::new("__awaitly_hole", span);
        quote_spanned! {span=> {
            fn #hole<F: ::core::future::IntoFuture>(_: F) -> F::Output {
                ::core::unreachable!()
            }
            #hole(async { #(#uses)* #body })
        }}
    }

    /// A hook's, approval's or sleep's hole has the type the context infers; its expressions are
    /// kept.
    fn typed_hole(&mut self, mac: &Macro, kind: MacroKind, span: Span) -> TokenStream {
        let parsed: Option<Vec<Expr>> = match kind {
            MacroKind::AwaitHook => mac.parse_body::<HookArgs>().ok().map(|args| {
                let id = match args.target {
                    HookTarget::Id(id) => Some(*id),
                    HookTarget::Label(_) => None,
                };
                id.into_iter().chain(args.options.into_values()).collect()
            }),
            MacroKind::AwaitApproval => mac.parse_body::<ApprovalArgs>().ok().map(|args| {
                std::iter::once(args.key)
                    .chain(args.options.into_values())
                    .collect()
            }),
            MacroKind::Sleep | MacroKind::Step => mac.parse_body::<SleepArgs>().ok().map(|args| {
                args.item
                    .into_iter()
                    .chain(std::iter::once(args.duration))
                    .collect()
            }),
        };
        let expressions = parsed.unwrap_or_else(|| salvage(&mac.tokens).expressions);
        let uses = self.uses(expressions, span);
        if kind == MacroKind::Sleep {
            return quote_spanned! {span=> { #(#uses)* } };
        }
        let hole = Ident::new("__awaitly_hole", span);
        quote_spanned! {span=> {
            fn #hole<T>() -> T {
                ::core::unreachable!()
            }
            #(#uses)*
            #hole()
        }}
    }

    /// `let _ = &(expression);` for each expression a hole keeps, so the variables it names are used.
    fn uses(&mut self, expressions: Vec<Expr>, span: Span) -> Vec<TokenStream> {
        expressions
            .into_iter()
            .map(|mut expression| {
                self.visit_expr_mut(&mut expression);
                quote_spanned! {span=> let _ = &(#expression); }
            })
            .collect()
    }
}

/// What can be recovered from a site whose arguments do not parse: every expression found in them
/// (after an optional `name =`), and, for a `step!`, the expression it records: the last one, if it
/// is neither an option's value nor a string literal (a label).
struct Salvage {
    expressions: Vec<Expr>,
    body: Option<Expr>,
}

fn salvage(tokens: &TokenStream) -> Salvage {
    let parser = |input: ParseStream<'_>| {
        let mut found = Vec::new();
        while !input.is_empty() {
            let option = site::peek_option(input).is_some();
            if option {
                input.parse::<Ident>()?;
                input.parse::<Token![=]>()?;
            }
            if let Ok(expr) = input.parse::<Expr>() {
                found.push((option, expr));
            } else if !input.is_empty() {
                input.parse::<TokenTree>()?;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(found)
    };
    let mut found = parser.parse2(tokens.clone()).unwrap_or_default();
    let body = match found.last() {
        Some((false, expr)) if !matches!(expr, Expr::Lit(literal) if matches!(literal.lit, syn::Lit::Str(_))) => {
            found.pop().map(|(_, body)| body)
        }
        _ => None,
    };
    Salvage {
        expressions: found.into_iter().map(|(_, expr)| expr).collect(),
        body,
    }
}

pub(super) fn delimiter_of(group: &Group) -> MacroDelimiter {
    let span = group.delim_span();
    match group.delimiter() {
        Delimiter::Brace => MacroDelimiter::Brace(syn::token::Brace(span)),
        Delimiter::Bracket => MacroDelimiter::Bracket(syn::token::Bracket(span)),
        _ => MacroDelimiter::Paren(syn::token::Paren(span)),
    }
}

/// A diverging expression standing in for a site when nothing better can be built.
fn placeholder(span: Span) -> Expr {
    syn::parse_quote_spanned! {span=> ::core::unreachable!() }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};

    use super::salvage;

    fn text(tokens: &impl ToTokens) -> String {
        tokens.to_token_stream().to_string()
    }

    #[test]
    fn salvage_recovers_the_expressions_of_arguments_that_do_not_parse() {
        let cases: [(TokenStream, Option<&str>, &[&str]); 6] = [
            (
                quote!("load", retries = 3, load().await),
                Some("load () . await"),
                &["\"load\"", "3"],
            ),
            (
                quote!(key = item, charge(item).await),
                Some("charge (item) . await"),
                &["item"],
            ),
            (
                quote!("charge", key = item charge(item).await),
                Some("charge (item) . await"),
                &["\"charge\"", "item"],
            ),
            (
                quote!(Ok::<u8, String>(1), extra),
                Some("extra"),
                &["Ok :: < u8 , String > (1)"],
            ),
            (quote!("charge", key = item), None, &["\"charge\"", "item"]),
            (quote!("load",), None, &["\"load\""]),
        ];
        for (tokens, body, expressions) in cases {
            let found = salvage(&tokens);
            assert_eq!(found.body.as_ref().map(text).as_deref(), body, "{tokens}");
            let found: Vec<String> = found.expressions.iter().map(text).collect();
            assert_eq!(found, expressions, "{tokens}");
        }
    }
}
