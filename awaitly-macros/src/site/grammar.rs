//! The grammar of the sites' arguments (summed up in [`super`]): one `Parse` impl per kind.

use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

use super::{COMPENSATE, KEY, METADATA, REASON, RERUN_FAILED, RETRY, TIMEOUT};

/// `name = value` options of one site, each set at most once.
#[derive(Default)]
pub(crate) struct Options {
    values: Vec<(Ident, Expr)>,
}

impl Options {
    pub(crate) fn get(&self, name: &str) -> Option<&Expr> {
        self.values
            .iter()
            .find(|(option, _)| option == name)
            .map(|(_, value)| value)
    }

    pub(crate) fn name_of(&self, name: &str) -> Option<&Ident> {
        self.values
            .iter()
            .find(|(option, _)| option == name)
            .map(|(option, _)| option)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.values.iter_mut().map(|(_, value)| value)
    }

    pub(crate) fn into_values(self) -> impl Iterator<Item = Expr> {
        self.values.into_iter().map(|(_, value)| value)
    }

    /// Parses one `name = value` whose name is in `allowed`.
    pub(super) fn parse_one(
        &mut self,
        input: ParseStream<'_>,
        macro_name: &str,
        allowed: &[&str],
    ) -> syn::Result<()> {
        let name: Ident = input.parse()?;
        if !allowed.iter().any(|allowed| name == allowed) {
            let list = allowed
                .iter()
                .map(|name| format!("`{name} = …`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(syn::Error::new(
                name.span(),
                format_args!("unknown `{macro_name}` option `{name}`; expected one of {list}"),
            ));
        }
        if self.name_of(&name.to_string()).is_some() {
            return Err(syn::Error::new(
                name.span(),
                format_args!("duplicate `{macro_name}` option `{name}`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        self.values.push((name, value));
        Ok(())
    }
}

/// `step!` arguments.
pub(crate) struct StepArgs {
    pub(crate) label: Option<LitStr>,
    pub(crate) options: Options,
    pub(crate) body: Expr,
}

impl StepArgs {
    pub(crate) fn item(&self) -> Option<&Expr> {
        self.options.get(KEY)
    }
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
    pub(crate) options: Options,
}

/// `await_approval!` arguments.
pub(crate) struct ApprovalArgs {
    pub(crate) key: Expr,
    pub(crate) options: Options,
}

/// `sleep!` arguments.
pub(crate) struct SleepArgs {
    pub(crate) label: LitStr,
    pub(crate) item: Option<Expr>,
    pub(crate) duration: Expr,
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
        let mut options = Options::default();
        while let Some(name) = peek_option(input) {
            if name == KEY && label.is_none() {
                return Err(syn::Error::new(
                    name.span(),
                    "`key = …` needs a label before it: `step!(\"label\", key = item, expression)`",
                ));
            }
            options.parse_one(
                input,
                "step!",
                &[KEY, RETRY, TIMEOUT, RERUN_FAILED, COMPENSATE],
            )?;
            if input.is_empty() {
                return Err(syn::Error::new(
                    input.span(),
                    format_args!(
                        "`step!` needs an expression after `{name} = …`: `step!(\"label\", {name} = …, expression)`"
                    ),
                ));
            }
            if !input.peek(Token![,]) {
                return Err(input.error(format_args!("expected `,` after `{name} = …`")));
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
        Ok(Self {
            label,
            options,
            body,
        })
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
        let options = trailing_options(input, "await_hook!", &[KEY, METADATA, TIMEOUT])?;
        if let (HookTarget::Id(_), Some(key)) = (&target, options.name_of(KEY)) {
            return Err(syn::Error::new(
                key.span(),
                "`key = …` is only allowed after a label: `await_hook!(\"label\", key = item)`; a hook id is already unique",
            ));
        }
        Ok(Self { target, options })
    }
}

impl Parse for ApprovalArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "`await_approval!` needs the approval's key: `await_approval!(format!(\"approve:refund:{id}\"))`",
            ));
        }
        let key: Expr = input.parse()?;
        let options = trailing_options(input, "await_approval!", &[REASON, METADATA, TIMEOUT])?;
        Ok(Self { key, options })
    }
}

impl Parse for SleepArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let usage = "`sleep!` needs a label and a duration: `sleep!(\"cool-off\", Duration::from_secs(60))`";
        if !input.peek(LitStr) {
            return Err(syn::Error::new(input.span(), usage));
        }
        let label: LitStr = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        input.parse::<Token![,]>()?;
        let mut item = None;
        if let Some(name) = peek_option(input) {
            let mut options = Options::default();
            options.parse_one(input, "sleep!", &[KEY])?;
            item = options.into_values().next();
            if !input.peek(Token![,]) {
                return Err(input.error(format_args!(
                    "expected `,` and the duration after `{name} = …`"
                )));
            }
            input.parse::<Token![,]>()?;
        }
        if input.is_empty() {
            return Err(syn::Error::new(input.span(), usage));
        }
        let duration: Expr = input.parse()?;
        finish(input, "sleep!")?;
        Ok(Self {
            label,
            item,
            duration,
        })
    }
}

/// `, name = value` repeated until the end (a trailing comma is fine).
fn trailing_options(
    input: ParseStream<'_>,
    macro_name: &str,
    allowed: &[&str],
) -> syn::Result<Options> {
    let mut options = Options::default();
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        if peek_option(input).is_none() {
            let list = allowed
                .iter()
                .map(|name| format!("`{name} = …`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(input.error(format_args!("expected one of {list}")));
        }
        options.parse_one(input, macro_name, allowed)?;
        if !input.is_empty() && !input.peek(Token![,]) {
            return Err(input.error(format_args!("expected `,` between `{macro_name}` options")));
        }
    }
    Ok(options)
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

pub(super) fn finish(input: ParseStream<'_>, macro_name: &str) -> syn::Result<()> {
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

/// The grammar alone: each mistake in a site's arguments and the message it gets (where the
/// message lands is the ui suite's business, `tests/ui/`).
#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;
    use syn::parse::Parse;

    use super::{ApprovalArgs, HookArgs, HookTarget, SleepArgs, StepArgs};

    fn error<T: Parse>(tokens: TokenStream) -> String {
        match syn::parse2::<T>(tokens) {
            Ok(_) => panic!("parsed"),
            Err(error) => error.to_string(),
        }
    }

    /// Every case is `(arguments, message)` for one macro.
    fn rejects<T: Parse>(cases: &[(TokenStream, &str)]) {
        for (tokens, expected) in cases {
            assert_eq!(error::<T>(tokens.clone()), *expected, "`{tokens}`");
        }
    }

    #[test]
    fn step_arguments_are_an_optional_label_options_and_one_expression() {
        let args = syn::parse2::<StepArgs>(quote!(charge().await)).unwrap();
        assert!(args.label.is_none() && args.item().is_none());
        let args = syn::parse2::<StepArgs>(quote!(
            "charge",
            key = item,
            retry = policy,
            timeout = t,
            rerun_failed = true,
            charge(item).await,
        ))
        .unwrap();
        assert_eq!(args.label.as_ref().unwrap().value(), "charge");
        assert!(args.item().is_some());
        assert!(args.options.get("retry").is_some() && args.options.get("timeout").is_some());
        // `name == value` is the expression, not an option.
        let args = syn::parse2::<StepArgs>(quote!("check", x == 1)).unwrap();
        assert!(args.options.get("x").is_none());
    }

    #[test]
    fn step_mistakes() {
        rejects::<StepArgs>(&[
            (
                quote!(),
                "`step!` needs an expression: `step!(call().await)` or `step!(\"label\", expression)`",
            ),
            (
                quote!("load",),
                "`step!` needs an expression after its label: `step!(\"label\", expression)`",
            ),
            (
                quote!(key = item, charge(item).await),
                "`key = …` needs a label before it: `step!(\"label\", key = item, expression)`",
            ),
            (
                quote!("charge", key = item),
                "`step!` needs an expression after `key = …`: `step!(\"label\", key = …, expression)`",
            ),
            (
                quote!("charge", key = item charge(item).await),
                "expected `,` after `key = …`",
            ),
            (
                quote!("charge", key = item, key = item + 1, charge(item).await),
                "duplicate `step!` option `key`",
            ),
            (
                quote!("load", retries = 3, load().await),
                "unknown `step!` option `retries`; expected one of `key = …`, `retry = …`, `timeout = …`, `rerun_failed = …`, `compensate = …`",
            ),
            (
                quote!("load", load().await, load().await),
                "unexpected tokens after the expression of `step!`; it takes one expression",
            ),
        ]);
    }

    #[test]
    fn hook_arguments_are_an_id_or_a_label_then_options() {
        let args = syn::parse2::<HookArgs>(quote!(hook_id)).unwrap();
        assert!(matches!(args.target, HookTarget::Id(_)));
        let args =
            syn::parse2::<HookArgs>(quote!("manager", key = item, metadata = m, timeout = t,))
                .unwrap();
        assert!(matches!(args.target, HookTarget::Label(label) if label.value() == "manager"));
        assert!(args.options.get("key").is_some() && args.options.get("metadata").is_some());
    }

    #[test]
    fn hook_mistakes() {
        rejects::<HookArgs>(&[
            (
                quote!(),
                "`await_hook!` needs a hook id or a label: `await_hook!(hook_id)` or `await_hook!(\"label\")`",
            ),
            (
                quote!(hook, key = item),
                "`key = …` is only allowed after a label: `await_hook!(\"label\", key = item)`; a hook id is already unique",
            ),
            (
                quote!("manager", metadata = "refund" key = 1),
                "expected `,` between `await_hook!` options",
            ),
            (
                quote!("manager", "refund #12"),
                "expected one of `key = …`, `metadata = …`, `timeout = …`",
            ),
            (
                quote!("manager", retries = 3),
                "unknown `await_hook!` option `retries`; expected one of `key = …`, `metadata = …`, `timeout = …`",
            ),
            (
                quote!("manager", metadata = 1, metadata = 2),
                "duplicate `await_hook!` option `metadata`",
            ),
        ]);
    }

    #[test]
    fn approval_arguments_are_a_key_then_options() {
        let args = syn::parse2::<ApprovalArgs>(quote!(
            format!("approve:{id}"),
            reason = r,
            metadata = m,
            timeout = t
        ))
        .unwrap();
        assert!(args.options.get("reason").is_some());
        rejects::<ApprovalArgs>(&[
            (
                quote!(),
                "`await_approval!` needs the approval's key: `await_approval!(format!(\"approve:refund:{id}\"))`",
            ),
            (
                quote!(format!("approve:{id}"), approver = "grace"),
                "unknown `await_approval!` option `approver`; expected one of `reason = …`, `metadata = …`, `timeout = …`",
            ),
        ]);
    }

    #[test]
    fn sleep_arguments_are_a_label_an_optional_key_and_a_duration() {
        let args = syn::parse2::<SleepArgs>(quote!("cool-off", key = item, d)).unwrap();
        assert_eq!(args.label.value(), "cool-off");
        assert!(args.item.is_some());
        let usage = "`sleep!` needs a label and a duration: `sleep!(\"cool-off\", Duration::from_secs(60))`";
        rejects::<SleepArgs>(&[
            (quote!(std::time::Duration::from_secs(1)), usage),
            (quote!("cool-off"), usage),
            (quote!("cool-off",), usage),
            (
                quote!("cool-off", key = item d),
                "expected `,` and the duration after `key = …`",
            ),
            (
                quote!("cool-off", every = 2, d),
                "unknown `sleep!` option `every`; expected one of `key = …`",
            ),
            (
                quote!("cool-off", d, e),
                "unexpected tokens after the expression of `sleep!`; it takes one expression",
            ),
        ]);
    }
}
