//! Accepts or rejects the annotated item: it must be an `async fn` (not `const`) with a return type.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

use crate::errors::Errors;

/// Parses the item as a fn. `Err` carries the error for an item that is not a fn at all.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<syn::ItemFn> {
    syn::parse2::<syn::ItemFn>(tokens.clone()).map_err(|_| {
        syn::Error::new_spanned(
            first_tokens(tokens),
            "`#[workflow]` can only be applied to an `async fn` returning `Result<T, E>`",
        )
    })
}

/// A fn `#[workflow]` can expand: it has a return type (the `Result<T, E>` the workflow produces).
pub(crate) struct WorkflowFn {
    pub(crate) function: syn::ItemFn,
    /// The declared return type.
    pub(crate) output: Box<syn::Type>,
}

/// What [`validate`] makes of a fn.
pub(crate) enum Validated {
    /// It can be expanded (perhaps with errors about its signature reported beside it).
    Workflow(WorkflowFn),
    /// It cannot (it has no return type): it is kept as written, with a hole for each site.
    Unexpandable(syn::ItemFn),
}

/// Records every problem with the fn's signature, and says whether it can be expanded.
///
/// A fn that is only missing `async`, or is `const` or variadic, is expanded as if it were right
/// (without `const` and `...`), so its callers and its body raise no errors of their own: the
/// user sees the one error about the signature.
pub(crate) fn validate(function: syn::ItemFn, errors: &mut Errors) -> Validated {
    let signature = &function.sig;
    if let Some(constness) = &signature.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "`#[workflow]` fn cannot be `const`; remove `const`",
        ));
    }
    if signature.asyncness.is_none() {
        errors.push(syn::Error::new(
            signature.fn_token.span(),
            "`#[workflow]` needs an `async fn`; add `async` before `fn`",
        ));
    }
    if let Some(variadic) = &signature.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "`#[workflow]` fn cannot be variadic",
        ));
    }
    match &signature.output {
        syn::ReturnType::Type(_, output) => {
            let output = output.clone();
            Validated::Workflow(WorkflowFn { function, output })
        }
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(
                signature.paren_token.span.close(),
                "`#[workflow]` fn must return `Result<T, E>`; add a return type such as `-> Result<T, E>`",
            ));
            Validated::Unexpandable(function)
        }
    }
}

/// Spans a "not a fn" error over the item's first tokens (its keyword and name), not its body.
fn first_tokens(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .take_while(|token| !matches!(token, proc_macro2::TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace))
        .collect()
}
