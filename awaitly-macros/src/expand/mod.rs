//! Code generation, all of it: the rewritten fn and its static description, then each [`Slot`]
//! marker the scan left in the body filled with its site's glue ([`glue`]) or its hole's stand-in
//! ([`hole`]).
//!
//! Everything generated reaches the runtime through `#krate::__private` and std through
//! `::core`; generated locals use `Span::mixed_site()` so they can neither capture nor shadow the
//! user's names.

mod construct;
mod glue;
#[cfg(test)]
mod golden;
mod hole;

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};

use crate::args::WorkflowArgs;
use crate::item::WorkflowFn;
use crate::scan::Scanned;
use crate::site::{Site, SiteArgs, SiteKind, Slot};

/// The expansion of a fn that passed [`crate::item::validate`].
pub(crate) fn workflow(
    function: WorkflowFn,
    scanned: &Scanned,
    args: &WorkflowArgs,
) -> TokenStream {
    let generated = rewrite_fn(function, &scanned.sites, &args.krate);
    Filler::new(scanned, args).fill(generated)
}

/// A fn that cannot be expanded, kept as written but with a hole for each site, so that its one
/// error is the only one.
pub(crate) fn unexpanded(
    function: &syn::ItemFn,
    scanned: &Scanned,
    args: &WorkflowArgs,
) -> TokenStream {
    Filler::new(scanned, args).fill(function.to_token_stream())
}

fn context_ident() -> Ident {
    local("__awaitly_ctx", Span::call_site())
}

/// A generated local: resolved at the macro (`mixed_site`), so it cannot clash with the user's
/// names, but located at `at`, so diagnostics about it point at the user's site, not the attribute.
fn local(name: &str, at: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(at))
}

/// `async fn f(args) -> R { body }` becomes
/// `fn f(args) -> Workflow<impl Future<Output = R>> { … async move { body } … }`.
fn rewrite_fn(function: WorkflowFn, sites: &[Site], krate: &syn::Path) -> TokenStream {
    let WorkflowFn { function, output } = function;
    let syn::ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = function;
    let output = output.as_ref();
    let context = context_ident();
    let description = local("__AWAITLY_WORKFLOW", Span::call_site());
    let result = local("__awaitly_result", Span::call_site());
    let name = sig.ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    let site_descriptions = sites.iter().map(|site| describe_site(krate, site));
    let ident = &sig.ident;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let inputs = &sig.inputs;
    let safety = &sig.safety;
    let abi = &sig.abi;
    let fn_token = &sig.fn_token;
    // The body only captures the context when a site needs it, so site-less workflows raise no
    // unused-variable lint.
    let capture = (!sites.is_empty()).then(|| quote!(let #context = #context;));
    let output_span = syn::spanned::Spanned::span(output);
    let future = quote_spanned! {output_span=>
        #krate::__private::Workflow<impl ::core::future::Future<Output = #output>>
    };
    // A return type that is not a `Result` is reported on the return type, not at every caller.
    let checked = local("__awaitly_result", output_span);
    let output_is_result = quote_spanned! {Span::mixed_site().located_at(output_span)=>
        let _ = |#checked: #output| -> ::core::result::Result<_, _> { #checked };
    };
    quote! {
        #(#attrs)*
        #vis #safety #abi #fn_token #ident #generics (#inputs) -> #future #where_clause {
            const #description: #krate::__private::WorkflowDescription =
                #krate::__private::WorkflowDescription::new(#name, &[#(#site_descriptions),*]);
            let #context = #krate::__private::Context::new(&#description);
            #krate::__private::Workflow::new(::core::clone::Clone::clone(&#context), async move {
                #capture
                let #result: #output = #block;
                #[allow(unreachable_code)]
                #output_is_result
                #[allow(unreachable_code)]
                #result
            })
        }
    }
}

fn describe_site(krate: &syn::Path, site: &Site) -> TokenStream {
    let kind = Ident::new(site.kind.variant(), Span::call_site());
    let Site {
        key,
        per_item,
        in_loop,
        in_branch,
        parent,
        ..
    } = site;
    // The parent's index fits a `u16`: a fn with 65 536 sites does not compile in practice.
    let parent = if let Some((index, branch)) = parent {
        let index = u16::try_from(*index).unwrap_or(u16::MAX);
        quote!(::core::option::Option::Some((#index, #branch)))
    } else {
        quote!(::core::option::Option::None)
    };
    quote!(#krate::__private::Site::new(#krate::__private::SiteKind::#kind, #key, #per_item, #in_loop, #in_branch, #parent))
}

/// Replaces each [`Slot`] marker with its code. Each slot is filled once: a marker seen again
/// (which only hand-written code could produce) is left alone, so filling always ends.
struct Filler<'a> {
    scanned: &'a Scanned,
    args: &'a WorkflowArgs,
    filled_sites: Vec<bool>,
    filled_holes: Vec<bool>,
}

impl<'a> Filler<'a> {
    fn new(scanned: &'a Scanned, args: &'a WorkflowArgs) -> Self {
        Self {
            scanned,
            args,
            filled_sites: vec![false; scanned.sites.len()],
            filled_holes: vec![false; scanned.holes.len()],
        }
    }

    fn fill(&mut self, tokens: TokenStream) -> TokenStream {
        self.fill_changed(tokens).0
    }

    /// The tokens with their markers filled, and whether there were any. Groups without a marker
    /// are kept as they are, so their delimiters keep their own spans.
    fn fill_changed(&mut self, tokens: TokenStream) -> (TokenStream, bool) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut output = Vec::with_capacity(trees.len());
        let mut changed = false;
        let mut position = 0;
        while position < trees.len() {
            if let [name, bang, body, ..] = &trees[position..]
                && let Some(code) =
                    Slot::of_marker(name, bang, body).and_then(|slot| self.code(slot))
            {
                output.extend(code);
                changed = true;
                position += 3;
                continue;
            }
            match &trees[position] {
                TokenTree::Group(group) => {
                    let (inner, inner_changed) = self.fill_changed(group.stream());
                    if inner_changed {
                        let mut rebuilt = Group::new(group.delimiter(), inner);
                        rebuilt.set_span(group.span());
                        output.push(TokenTree::Group(rebuilt));
                        changed = true;
                    } else {
                        output.push(TokenTree::Group(group.clone()));
                    }
                }
                other => output.push(other.clone()),
            }
            position += 1;
        }
        (output.into_iter().collect(), changed)
    }

    /// A slot's code, passed through the user's own macro path (so the import the user wrote is
    /// used, and resolves as written), with the markers nested in it filled in turn.
    fn code(&mut self, slot: Slot) -> Option<TokenStream> {
        let (path, code) = match slot {
            Slot::Site(index) => {
                let site = self.scanned.sites.get(index)?;
                if std::mem::replace(self.filled_sites.get_mut(index)?, true) {
                    return None;
                }
                (&site.path, self.glue(index, site))
            }
            Slot::Hole(index) => {
                let found = self.scanned.holes.get(index)?;
                if std::mem::replace(self.filled_holes.get_mut(index)?, true) {
                    return None;
                }
                (&found.path, hole::hole(found))
            }
        };
        let span = syn::spanned::Spanned::span(path);
        let wrapped = quote_spanned! {span=> #path! { @__awaitly_expanded { #code } } };
        Some(self.fill(wrapped))
    }

    fn glue(&self, index: usize, site: &Site) -> TokenStream {
        let krate = &self.args.krate;
        match &site.args {
            SiteArgs::Step(args) => {
                glue::step_glue(krate, index, site.span, args, self.args.rerun_failed)
            }
            SiteArgs::Hook(args) => glue::hook_glue(krate, index, site.span, args),
            SiteArgs::Approval(args) => glue::approval_glue(krate, site.span, args),
            SiteArgs::Sleep(args) => glue::sleep_glue(index, site.span, args),
            SiteArgs::Branches(args) => {
                let span = Span::mixed_site().located_at(site.span);
                let krate = &glue::located(krate, span);
                match site.kind {
                    SiteKind::Race => construct::race_glue(krate, index, span, args),
                    _ => construct::all_glue(krate, index, span, site.macro_kind, args),
                }
            }
            SiteArgs::Child(args) => glue::child_glue(index, site.span, args),
            SiteArgs::FanOut(args) => {
                let span = Span::mixed_site().located_at(site.span);
                let krate = &glue::located(krate, span);
                construct::fan_out_glue(krate, index, span, site.macro_kind, args)
            }
        }
    }
}
