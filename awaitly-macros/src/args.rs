//! The attribute's arguments: `#[workflow]` or `#[workflow(crate = "path")]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

/// The argument names `#[workflow]` accepts.
const CRATE: &str = "crate";
const RERUN_FAILED: &str = "rerun_failed";

pub(crate) struct WorkflowArgs {
    /// The path generated code reaches the runtime through.
    pub(crate) krate: syn::Path,
    /// `rerun_failed`: every step executes failures recorded by earlier runs again.
    pub(crate) rerun_failed: bool,
}

impl Default for WorkflowArgs {
    fn default() -> Self {
        Self {
            krate: syn::parse_quote!(::awaitly),
            rerun_failed: false,
        }
    }
}

/// Parses the arguments; on a mistake, returns the defaults for the rest and the error, so the fn is
/// still expanded.
pub(crate) fn parse(tokens: TokenStream) -> (WorkflowArgs, Option<syn::Error>) {
    let mut krate: Option<syn::Path> = None;
    let mut rerun_failed: Option<bool> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(CRATE) {
            let path = parse_crate_path(&meta)?;
            set_once(&mut krate, path, &meta)
        } else if meta.path.is_ident(RERUN_FAILED) {
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                return Err(
                    meta.error("`rerun_failed` takes no value: `#[workflow(rerun_failed)]`")
                );
            }
            set_once(&mut rerun_failed, true, &meta)
        } else {
            Err(meta.error(format_args!(
                "unknown `#[workflow]` argument `{}`; expected `crate = \"path\"` or `rerun_failed`",
                path_text(&meta.path)
            )))
        }
    });
    let error = parser.parse2(tokens).err();
    let args = WorkflowArgs {
        krate: krate.unwrap_or_else(|| WorkflowArgs::default().krate),
        rerun_failed: rerun_failed.unwrap_or(false),
    };
    (args, error)
}

fn parse_crate_path(meta: &ParseNestedMeta<'_>) -> syn::Result<syn::Path> {
    let literal: syn::LitStr = meta
        .value()
        .and_then(syn::parse::ParseBuffer::parse)
        .map_err(|error| syn::Error::new(error.span(), "expected `crate = \"path\"`"))?;
    literal.parse::<syn::Path>().map_err(|_| {
        syn::Error::new(
            literal.span(),
            format_args!(
                "`crate = {:?}` is not a path; expected e.g. `crate = \"::awaitly\"`",
                literal.value()
            ),
        )
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format_args!(
            "duplicate `#[workflow]` argument `{}`",
            path_text(&meta.path)
        )));
    }
    *slot = Some(value);
    Ok(())
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::parse;

    #[test]
    fn defaults_to_the_facade_crate() {
        let (args, error) = parse(quote!());
        assert!(error.is_none());
        assert_eq!(args.krate.to_token_stream().to_string(), ":: awaitly");
    }

    #[test]
    fn accepts_a_crate_override() {
        let (args, error) = parse(quote!(crate = "my::flows"));
        assert!(error.is_none());
        assert_eq!(args.krate.to_token_stream().to_string(), "my :: flows");
    }

    #[test]
    fn rejects_mistakes_with_messages_naming_the_argument() {
        let cases = [
            (
                quote!(krate = "x"),
                "unknown `#[workflow]` argument `krate`; expected `crate = \"path\"` or `rerun_failed`",
            ),
            (
                quote!(crate = "a", crate = "b"),
                "duplicate `#[workflow]` argument `crate`",
            ),
            (
                quote!(crate = "not a path"),
                "`crate = \"not a path\"` is not a path; expected e.g. `crate = \"::awaitly\"`",
            ),
            (quote!(crate = 5), "expected `crate = \"path\"`"),
            (quote!(crate = awaitly), "expected `crate = \"path\"`"),
            (
                quote!(rerun_failed = true),
                "`rerun_failed` takes no value: `#[workflow(rerun_failed)]`",
            ),
            (
                quote!(rerun_failed, rerun_failed),
                "duplicate `#[workflow]` argument `rerun_failed`",
            ),
        ];
        for (tokens, expected) in cases {
            let (_, error) = parse(tokens);
            assert_eq!(error.expect("an error").to_string(), expected);
        }
    }
}
