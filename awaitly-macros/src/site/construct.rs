//! The grammar of the constructs that run parts of the body at once: their branches and items
//! hold sites of their own, each in its own scope.
//!
//! ```text
//! all!("label", name => expression { , name => expression } [ , ])        also try_all!, race!
//! fan_out!("label", pattern in items { , option = value } , expression)   options: key, concurrency
//! ```

use syn::parse::ParseStream;
use syn::{Expr, Ident, LitStr, Pat, Token};

use super::grammar::{Options, finish, peek_option};
use super::{CONCURRENCY, KEY, MacroKind};

/// `all!`, `try_all!` and `race!` arguments: a label and named branches.
pub(crate) struct BranchesArgs {
    pub(crate) label: LitStr,
    pub(crate) branches: Vec<(Ident, Expr)>,
}

impl BranchesArgs {
    pub(crate) fn parse_for(kind: MacroKind, input: ParseStream<'_>) -> syn::Result<Self> {
        let name = kind.name();
        let usage = format!(
            "`{name}!` needs a label and named branches: `{name}!(\"label\", first => expression, second => expression)`"
        );
        if !input.peek(LitStr) {
            return Err(syn::Error::new(input.span(), usage));
        }
        let label: LitStr = input.parse()?;
        let mut branches: Vec<(Ident, Expr)> = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if !(input.peek(Ident) && input.peek2(Token![=>])) {
                return Err(input.error(format_args!(
                    "expected a named branch: `name => expression`"
                )));
            }
            let branch: Ident = input.parse()?;
            input.parse::<Token![=>]>()?;
            let expression: Expr = input.parse()?;
            branches.push((branch, expression));
        }
        if branches.is_empty() {
            return Err(syn::Error::new(label.span(), usage));
        }
        Ok(Self { label, branches })
    }

    /// A branch whose name an earlier branch has: an error at the second, pointing at the first.
    /// Reported by the scan, so the construct still expands and its branches type-check.
    pub(crate) fn duplicate_branch(&self, kind: MacroKind) -> Option<syn::Error> {
        let name = kind.name();
        self.branches
            .iter()
            .enumerate()
            .find_map(|(position, (branch, _))| {
                let (first, _) = self.branches[..position]
                    .iter()
                    .find(|(first, _)| first == branch)?;
                let mut error = syn::Error::new(
                    branch.span(),
                    format_args!(
                        "duplicate branch `{branch}` in `{name}!`: each branch needs a name of its own, which is part of its sites' keys"
                    ),
                );
                error.combine(syn::Error::new(first.span(), "first used here"));
                Some(error)
            })
    }
}

/// `child!` arguments: `child!("label", workflow, input)`.
pub(crate) struct ChildArgs {
    pub(crate) label: LitStr,
    pub(crate) workflow: Expr,
    pub(crate) input: Expr,
}

impl syn::parse::Parse for ChildArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let usage = "`child!` needs a label, the registered workflow's name and its input: `child!(\"pay\", \"payment\", &order)`";
        if !input.peek(LitStr) {
            return Err(syn::Error::new(input.span(), usage));
        }
        let label: LitStr = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        input.parse::<Token![,]>()?;
        let workflow: Expr = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        input.parse::<Token![,]>()?;
        let child_input: Expr = input.parse()?;
        finish(input, "child!")?;
        Ok(Self {
            label,
            workflow,
            input: child_input,
        })
    }
}

/// `fan_out!` and `try_fan_out!` arguments.
pub(crate) struct FanOutArgs {
    pub(crate) label: LitStr,
    pub(crate) pattern: Pat,
    pub(crate) items: Expr,
    pub(crate) options: Options,
    pub(crate) body: Expr,
}

impl FanOutArgs {
    pub(crate) fn parse_for(kind: MacroKind, input: ParseStream<'_>) -> syn::Result<Self> {
        let name = kind.name();
        let usage = format!(
            "`{name}!` needs a label, `item in items` and an expression: `{name}!(\"ship\", order in orders, concurrency = 16, ship(&order).await)`"
        );
        if !input.peek(LitStr) {
            return Err(syn::Error::new(input.span(), usage));
        }
        let label: LitStr = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        input.parse::<Token![,]>()?;
        let pattern = Pat::parse_single(input)?;
        if !input.peek(Token![in]) {
            return Err(input.error(format_args!(
                "expected `in` and the items: `{name}!(\"label\", item in items, …)`"
            )));
        }
        input.parse::<Token![in]>()?;
        let items: Expr = input.parse()?;
        let mut options = Options::default();
        loop {
            if input.is_empty() {
                return Err(syn::Error::new(input.span(), usage));
            }
            input.parse::<Token![,]>()?;
            if peek_option(input).is_none() {
                break;
            }
            options.parse_one(input, &format!("{name}!"), &[KEY, CONCURRENCY])?;
        }
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        let body: Expr = input.parse()?;
        finish(input, &format!("{name}!"))?;
        Ok(Self {
            label,
            pattern,
            items,
            options,
            body,
        })
    }
}

/// The grammar alone: each mistake in a construct's arguments and the message it gets (where it
/// lands, and the mistakes about placement, are the ui suite's business).
#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;
    use syn::parse::Parser;

    use super::{BranchesArgs, ChildArgs, FanOutArgs, MacroKind};

    fn branches(kind: MacroKind, tokens: TokenStream) -> syn::Result<BranchesArgs> {
        (|input: syn::parse::ParseStream<'_>| BranchesArgs::parse_for(kind, input)).parse2(tokens)
    }

    fn fan_out(tokens: TokenStream) -> syn::Result<FanOutArgs> {
        (|input: syn::parse::ParseStream<'_>| FanOutArgs::parse_for(MacroKind::FanOut, input))
            .parse2(tokens)
    }

    fn message<T>(parsed: syn::Result<T>) -> String {
        match parsed {
            Ok(_) => panic!("parsed"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn branches_are_a_label_and_named_expressions() {
        let args = branches(
            MacroKind::All,
            quote!("checkout", stock => reserve(), pay => { charge() },),
        )
        .unwrap();
        assert_eq!(args.label.value(), "checkout");
        let names: Vec<String> = args
            .branches
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        assert_eq!(names, ["stock", "pay"]);
        assert!(args.duplicate_branch(MacroKind::All).is_none());
        let twice = branches(MacroKind::All, quote!("c", a => 1, a => 2)).unwrap();
        assert_eq!(
            twice.duplicate_branch(MacroKind::All).unwrap().to_string(),
            "duplicate branch `a` in `all!`: each branch needs a name of its own, which is part of its sites' keys"
        );
    }

    #[test]
    fn branch_mistakes() {
        let usage = "`race!` needs a label and named branches: `race!(\"label\", first => expression, second => expression)`";
        assert_eq!(message(branches(MacroKind::Race, quote!("quote"))), usage);
        assert_eq!(message(branches(MacroKind::Race, quote!(a => 1))), usage);
        assert_eq!(
            message(branches(MacroKind::TryAll, quote!("c", 1 + 1))),
            "expected a named branch: `name => expression`"
        );
    }

    #[test]
    fn fan_out_arguments_and_mistakes() {
        let args = fan_out(
            quote!("ship", (id, qty) in orders, key = id, concurrency = 16, ship(id).await),
        )
        .unwrap();
        assert_eq!(args.label.value(), "ship");
        assert!(args.options.get("key").is_some() && args.options.get("concurrency").is_some());
        let usage = "`fan_out!` needs a label, `item in items` and an expression: `fan_out!(\"ship\", order in orders, concurrency = 16, ship(&order).await)`";
        assert_eq!(message(fan_out(quote!(order in orders, ship()))), usage);
        assert_eq!(message(fan_out(quote!("ship", order in orders))), usage);
        assert_eq!(
            message(fan_out(quote!("ship", order orders, ship()))),
            "expected `in` and the items: `fan_out!(\"label\", item in items, …)`"
        );
        assert_eq!(
            message(fan_out(
                quote!("ship", order in orders, parallelism = 4, ship())
            )),
            "unknown `fan_out!` option `parallelism`; expected one of `key = …`, `concurrency = …`"
        );
        assert_eq!(
            message(fan_out(quote!("ship", order in orders, ship(), extra))),
            "unexpected tokens after the expression of `fan_out!`; it takes one expression"
        );
    }

    #[test]
    fn child_arguments_and_mistakes() {
        let args = syn::parse2::<ChildArgs>(quote!("pay", "payment", &order)).unwrap();
        assert_eq!(args.label.value(), "pay");
        let usage = "`child!` needs a label, the registered workflow's name and its input: `child!(\"pay\", \"payment\", &order)`";
        assert_eq!(message(syn::parse2::<ChildArgs>(quote!())), usage);
        assert_eq!(message(syn::parse2::<ChildArgs>(quote!("pay"))), usage);
        assert_eq!(
            message(syn::parse2::<ChildArgs>(quote!("pay", "payment"))),
            usage
        );
    }
}
