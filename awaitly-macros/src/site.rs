//! The two kinds of site and the grammar of their arguments.
//!
//! ```text
//! step!(expression)
//! step!("label", expression)
//! step!("label", key = item, expression)
//! await_hook!(hook_id [, metadata = expression])
//! await_hook!("label" [, key = item] [, metadata = expression])
//! ```

use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

/// The macro names `#[workflow]` rewrites, matched on the last path segment.
pub(crate) const STEP: &str = "step";
pub(crate) const AWAIT_HOOK: &str = "await_hook";

/// Option names inside a site's arguments.
const KEY: &str = "key";
const METADATA: &str = "metadata";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    Step,
    AwaitHook,
}

impl MacroKind {
    pub(crate) fn of(path: &syn::Path) -> Option<Self> {
        let last = path.segments.last()?;
        if !last.arguments.is_none() {
            return None;
        }
        Self::of_name(&last.ident.to_string())
    }

    pub(crate) fn of_name(name: &str) -> Option<Self> {
        match name {
            STEP => Some(Self::Step),
            AWAIT_HOOK => Some(Self::AwaitHook),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Step => STEP,
            Self::AwaitHook => AWAIT_HOOK,
        }
    }
}

/// `step!` arguments.
pub(crate) struct StepArgs {
    pub(crate) label: Option<LitStr>,
    pub(crate) item: Option<Expr>,
    pub(crate) body: Expr,
}

/// Which hook `await_hook!` waits for.
pub(crate) enum HookTarget {
    /// An id expression: a hook made before the run.
    Id(Box<Expr>),
    /// A label: a hook created inside the workflow.
    Label(LitStr),
}

/// `await_hook!` arguments.
pub(crate) struct HookArgs {
    pub(crate) target: HookTarget,
    pub(crate) item: Option<Expr>,
    pub(crate) metadata: Option<Expr>,
}

impl Parse for StepArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "`step!` needs an expression: `step!(call().await)` or `step!(\"label\", expression)`",
            ));
        }
        let label = if input.peek(LitStr) && input.peek2(Token![,]) {
            let label: LitStr = input.parse()?;
            input.parse::<Token![,]>()?;
            Some(label)
        } else {
            None
        };
        let mut item = None;
        while let Some(name) = peek_option(input) {
            if name != KEY {
                return Err(syn::Error::new(
                    name.span(),
                    format_args!("unknown `step!` option `{name}`; the only option is `key = …`"),
                ));
            }
            if label.is_none() {
                return Err(syn::Error::new(
                    name.span(),
                    "`key = …` needs a label before it: `step!(\"label\", key = item, expression)`",
                ));
            }
            let value = parse_option_value(input)?;
            set_once(&mut item, value, &name, "step!")?;
            if input.is_empty() {
                return Err(syn::Error::new(
                    input.span(),
                    "`step!` needs an expression after `key = …`: `step!(\"label\", key = item, expression)`",
                ));
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` after `key = …`"));
            }
            input.parse::<Token![,]>()?;
        }
        if input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "`step!` needs an expression after its label: `step!(\"label\", expression)`",
            ));
        }
        let body: Expr = input.parse()?;
        finish(input, "step!")?;
        Ok(Self { label, item, body })
    }
}

impl Parse for HookArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "`await_hook!` needs a hook id or a label: `await_hook!(hook_id)` or `await_hook!(\"label\")`",
            ));
        }
        let target = if input.peek(LitStr) {
            HookTarget::Label(input.parse()?)
        } else {
            HookTarget::Id(Box::new(input.parse()?))
        };
        let mut item = None;
        let mut metadata = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let Some(name) = peek_option(input) else {
                return Err(input.error("expected `key = …` or `metadata = …`"));
            };
            if name == KEY {
                if matches!(target, HookTarget::Id(_)) {
                    return Err(syn::Error::new(
                        name.span(),
                        "`key = …` is only allowed after a label: `await_hook!(\"label\", key = item)`; a hook id is already unique",
                    ));
                }
                let value = parse_option_value(input)?;
                set_once(&mut item, value, &name, "await_hook!")?;
            } else if name == METADATA {
                let value = parse_option_value(input)?;
                set_once(&mut metadata, value, &name, "await_hook!")?;
            } else {
                return Err(syn::Error::new(
                    name.span(),
                    format_args!(
                        "unknown `await_hook!` option `{name}`; expected `key = …` or `metadata = …`"
                    ),
                ));
            }
            if !input.is_empty() && !input.peek(Token![,]) {
                return Err(input.error("expected `,` between `await_hook!` options"));
            }
        }
        Ok(Self {
            target,
            item,
            metadata,
        })
    }
}

/// `name =` (but not `name ==`) ahead: the option's name, not yet consumed.
pub(crate) fn peek_option(input: ParseStream<'_>) -> Option<Ident> {
    let fork = input.fork();
    let name: Ident = fork.parse().ok()?;
    if fork.peek(Token![==]) || !fork.peek(Token![=]) {
        return None;
    }
    Some(name)
}

/// Consumes `name = value`.
fn parse_option_value(input: ParseStream<'_>) -> syn::Result<Expr> {
    input.parse::<Ident>()?;
    input.parse::<Token![=]>()?;
    input.parse()
}

fn set_once(
    slot: &mut Option<Expr>,
    value: Expr,
    name: &Ident,
    macro_name: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            name.span(),
            format_args!("duplicate `{macro_name}` option `{name}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn finish(input: ParseStream<'_>, macro_name: &str) -> syn::Result<()> {
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    }
    if !input.is_empty() {
        return Err(input.error(format_args!(
            "unexpected tokens after the expression of `{macro_name}`; it takes one expression"
        )));
    }
    Ok(())
}
