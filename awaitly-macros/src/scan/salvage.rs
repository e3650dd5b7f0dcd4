//! Holes: what the scan keeps of a site whose error is already reported, so that the expansion can
//! put a well-typed stand-in there, and one mistake gives one error and no cascade.

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::visit_mut::VisitMut;
use syn::{Expr, Macro, MacroDelimiter, Token};

use super::{Mode, Scanner, marker};
use crate::site::{self, Hole, HookTarget, MacroKind, SiteArgs, Slot};

impl Scanner<'_> {
    /// Records a hole for a site whose error is already recorded, and returns its marker. The hole
    /// keeps the site's expressions (and a step's expression, which gives it its type), so the code
    /// around it type-checks as if the site were right and the user sees that one error, with no
    /// cascade (`?` on `!`, unused variables, unreachable code). Sites nested in its arguments are
    /// silenced: they belong to the same mistake.
    pub(super) fn hole(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        let mode = std::mem::replace(&mut self.mode, Mode::Silence);
        let (mut uses, mut body) = match SiteArgs::parse(kind, mac) {
            Ok(SiteArgs::Step(args)) => (args.options.into_values().collect(), Some(args.body)),
            Ok(SiteArgs::Hook(args)) => {
                let id = match args.target {
                    HookTarget::Id(id) => Some(*id),
                    HookTarget::Label(_) => None,
                };
                (
                    id.into_iter().chain(args.options.into_values()).collect(),
                    None,
                )
            }
            Ok(SiteArgs::Approval(args)) => (
                std::iter::once(args.key)
                    .chain(args.options.into_values())
                    .collect(),
                None,
            ),
            Ok(SiteArgs::Sleep(args)) => (
                args.item
                    .into_iter()
                    .chain(std::iter::once(args.duration))
                    .collect(),
                None,
            ),
            // A construct's bodies are left out: their sites belong to the reported mistake.
            Ok(SiteArgs::Branches(_)) => (Vec::new(), None),
            Ok(SiteArgs::Child(args)) => (vec![args.workflow, args.input], None),
            Ok(SiteArgs::FanOut(args)) => (
                std::iter::once(args.items)
                    .chain(args.options.into_values())
                    .collect(),
                None,
            ),
            Err(_) => {
                let salvage = salvage(&mac.tokens);
                let body = salvage.body.filter(|_| kind == MacroKind::Step);
                (salvage.expressions, body)
            }
        };
        for expression in uses.iter_mut().chain(body.iter_mut()) {
            self.visit_expr_mut(expression);
        }
        self.mode = mode;
        self.found.holes.push(Hole {
            kind,
            path: mac.path.clone(),
            uses,
            body,
        });
        marker(Slot::Hole(self.found.holes.len() - 1), mac)
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
