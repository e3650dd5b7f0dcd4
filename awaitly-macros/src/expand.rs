//! Code generation: the rewritten fn, its static description, and the glue of each site.
//!
//! Everything generated reaches the runtime through `#krate::__private` and std through
//! `::core`; generated locals use `Span::mixed_site()` so they can neither capture nor shadow the
//! user's names. The glue of a site is *located* at the site's `step` / `await_hook` token (same
//! resolution), so that type errors in it (a non-serialisable output, a step that is not a
//! `Result`) point at the user's site rather than at `#[workflow]`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use crate::errors::Errors;
use crate::scan::{self, Site, SiteKind};
use crate::site::{
    ApprovalArgs, HookArgs, HookTarget, METADATA, REASON, RERUN_FAILED, RETRY, SleepArgs, StepArgs,
    TIMEOUT,
};
use crate::{args, item};

/// The whole expansion of `#[workflow]`. Never drops the user's fn: on any mistake it still emits
/// the fn (rewritten as far as possible) next to the errors.
pub(crate) fn workflow(args: TokenStream, input: &TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (args, args_error) = args::parse(args);
    if let Some(error) = args_error {
        errors.push(error);
    }
    let mut function = match item::parse(input.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#input #error);
        }
    };
    if !item::check(&function, &mut errors) {
        scan::replace_with_placeholders(&mut function.block);
        let errors = errors.to_compile_errors();
        return quote!(#function #errors);
    }
    let settings = scan::Settings {
        krate: &args.krate,
        rerun_failed: args.rerun_failed,
    };
    let sites = scan::rewrite(&mut function.block, &settings, &mut errors);
    report_duplicate_keys(&sites, &mut errors);
    report_approval_keys(&sites, &mut errors);
    let generated = rewrite_fn(function, &sites, &args.krate);
    let errors = errors.to_compile_errors();
    quote!(#generated #errors)
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
fn rewrite_fn(function: syn::ItemFn, sites: &[Site], krate: &syn::Path) -> TokenStream {
    let syn::ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = function;
    let syn::ReturnType::Type(_, output) = &sig.output else {
        unreachable!("item::check rejects fns without a return type")
    };
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
    let kind = match site.kind {
        SiteKind::Step => quote!(Step),
        SiteKind::HookById => quote!(HookById),
        SiteKind::CreatedHook => quote!(CreatedHook),
        SiteKind::Approval => quote!(Approval),
        SiteKind::Sleep => quote!(Sleep),
    };
    let Site {
        key,
        per_item,
        in_loop,
        in_branch,
        ..
    } = site;
    quote!(#krate::__private::Site::new(#krate::__private::SiteKind::#kind, #key, #per_item, #in_loop, #in_branch))
}

/// The per-item part of a site's key, as the runtime wants it.
fn item_argument(item: Option<&syn::Expr>, span: Span) -> TokenStream {
    if let Some(item) = item {
        quote_spanned! {span=> ::core::option::Option::Some(&(#item) as &dyn ::core::fmt::Display) }
    } else {
        quote_spanned! {span=> ::core::option::Option::None }
    }
}

/// Glue of one `step!`: replay the recorded outcome, or execute the expression (with its retry
/// policy and per-attempt timeout) and record the final outcome.
pub(crate) fn step_glue(
    krate: &syn::Path,
    index: usize,
    span: Span,
    args: &StepArgs,
    rerun_failed: bool,
) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let krate = &located(krate, span);
    let context = local("__awaitly_ctx", span);
    let outcome = local("__awaitly_outcome", span);
    let ticket = local("__awaitly_ticket", span);
    let policy = local("__awaitly_policy", span);
    let delay = local("__awaitly_delay", span);
    let checkpoint = local("__awaitly_checkpoint", span);
    let body = &args.body;
    let item = item_argument(args.item(), span);
    let failures = match args.options.get(RERUN_FAILED) {
        Some(rerun) => quote_spanned! {span=>
            if #rerun { #krate::__private::RecordedFailures::Rerun } else { #krate::__private::RecordedFailures::Replay }
        },
        None if rerun_failed => quote_spanned! {span=> #krate::__private::RecordedFailures::Rerun },
        None => quote_spanned! {span=> #krate::__private::RecordedFailures::Replay },
    };
    // One attempt: the expression itself, or raced against the per-attempt timeout.
    let attempt = if let Some(timeout) = args.options.get(TIMEOUT) {
        quote_spanned! {span=>
            #context.attempt_with_timeout(&#ticket, #timeout, async { #body }).await
        }
    } else {
        quote_spanned! {span=> #body }
    };
    let execute = if let Some(retry) = args.options.get(RETRY) {
        quote_spanned! {span=>
            let #policy: #krate::__private::RetryPolicy<_> = #retry;
            let #outcome: ::core::result::Result<_, _> = loop {
                let #outcome: ::core::result::Result<_, _> = #attempt;
                match #context.retry_delay(&mut #ticket, &#policy, &#outcome) {
                    ::core::option::Option::None => break #outcome,
                    ::core::option::Option::Some(#delay) => #context.wait(#delay).await,
                }
            };
        }
    } else {
        quote_spanned! {span=> let #outcome: ::core::result::Result<_, _> = #attempt; }
    };
    let mutable = args
        .options
        .get(RETRY)
        .map(|_| quote_spanned! {span=> mut });
    quote_spanned! {span=>
        match #context.begin_step(#index, #item, #failures) {
            #krate::__private::StepStart::Replayed(#outcome) => #outcome,
            #krate::__private::StepStart::Execute(#mutable #ticket) => {
                #execute
                let #checkpoint = #context.finish_step(#ticket, &#outcome);
                if #context.checkpoint(#checkpoint).await {
                    #outcome
                } else {
                    match #krate::__private::halt().await {}
                }
            }
            #krate::__private::StepStart::Halt => match #krate::__private::halt().await {},
        }
    }
}

/// `|| encode_metadata(&…)`, or a closure yielding no metadata.
fn metadata_closure(krate: &TokenStream, metadata: Option<&syn::Expr>, span: Span) -> TokenStream {
    if let Some(metadata) = metadata {
        quote_spanned! {span=> || #krate::__private::encode_metadata(&(#metadata)) }
    } else {
        quote_spanned! {span=> || ::core::result::Result::Ok(::core::option::Option::None) }
    }
}

/// Glue of one `await_hook!`: the injected payload (or, with a timeout, `Result<payload,
/// HookTimeout>`), or a halt that suspends the run.
pub(crate) fn hook_glue(
    krate: &syn::Path,
    index: usize,
    span: Span,
    args: &HookArgs,
) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let krate = &located(krate, span);
    let context = local("__awaitly_ctx", span);
    let payload = local("__awaitly_payload", span);
    let target = match &args.target {
        HookTarget::Id(id) => quote_spanned! {span=>
            #krate::__private::HookTarget::ById(#krate::__private::HookId::from(
                ::core::convert::AsRef::<str>::as_ref(&(#id))
            ))
        },
        HookTarget::Label(_) => {
            let item = if let Some(item) = args.options.get(crate::site::KEY) {
                quote_spanned! {span=> ::core::option::Option::Some(::std::string::ToString::to_string(&(#item))) }
            } else {
                quote_spanned! {span=> ::core::option::Option::None }
            };
            quote_spanned! {span=> #krate::__private::HookTarget::Created { item: #item } }
        }
    };
    let metadata = metadata_closure(krate, args.options.get(METADATA), span);
    let wait = if let Some(timeout) = args.options.get(TIMEOUT) {
        quote_spanned! {span=> #context.await_hook_with_timeout(#index, #target, #timeout, #metadata) }
    } else {
        quote_spanned! {span=> #context.await_hook(#index, #target, #metadata) }
    };
    quote_spanned! {span=>
        match #wait {
            ::core::option::Option::Some(#payload) => #payload,
            ::core::option::Option::None => match #krate::__private::halt().await {},
        }
    }
}

/// Glue of one `await_approval!`: `Result<value, ApprovalError>` once decided, or a halt.
pub(crate) fn approval_glue(krate: &syn::Path, span: Span, args: &ApprovalArgs) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let krate = &located(krate, span);
    let context = local("__awaitly_ctx", span);
    let decision = local("__awaitly_decision", span);
    let key = &args.key;
    let reason = if let Some(reason) = args.options.get(REASON) {
        quote_spanned! {span=> ::core::option::Option::Some(::std::string::ToString::to_string(&(#reason))) }
    } else {
        quote_spanned! {span=> ::core::option::Option::None }
    };
    let timeout = if let Some(timeout) = args.options.get(TIMEOUT) {
        quote_spanned! {span=> ::core::option::Option::Some(#timeout) }
    } else {
        quote_spanned! {span=> ::core::option::Option::None }
    };
    let metadata = metadata_closure(krate, args.options.get(METADATA), span);
    quote_spanned! {span=>
        match #context.await_approval(::std::string::ToString::to_string(&(#key)), #reason, #timeout, #metadata) {
            ::core::option::Option::Some(#decision) => #decision,
            ::core::option::Option::None => match #krate::__private::halt().await {},
        }
    }
}

/// Glue of one `sleep!`: go on once the recorded wake-up time has passed, else halt.
pub(crate) fn sleep_glue(
    krate: &syn::Path,
    index: usize,
    span: Span,
    args: &SleepArgs,
) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let krate = &located(krate, span);
    let context = local("__awaitly_ctx", span);
    let duration = &args.duration;
    let item = item_argument(args.item.as_ref(), span);
    quote_spanned! {span=>
        if !#context.sleep(#index, #item, #duration) {
            match #krate::__private::halt().await {}
        }
    }
}

/// `path` with every token located at `span` (and resolved as before), so that diagnostics about
/// the runtime items the glue calls point at the site, not at `#[workflow]`.
fn located(path: &syn::Path, span: Span) -> TokenStream {
    path.to_token_stream()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(tree.span().located_at(span));
            tree
        })
        .collect()
}

/// Two sites with one key would replay each other's outcomes: an error at each of them.
fn report_duplicate_keys(sites: &[Site], errors: &mut Errors) {
    let keyed: Vec<&Site> = sites.iter().filter(|site| site.has_static_key()).collect();
    for (position, site) in keyed.iter().enumerate() {
        // `label` and `label[item]` never collide, so only sites of the same shape can.
        if let Some(first) = keyed[..position]
            .iter()
            .find(|earlier| earlier.key == site.key && earlier.per_item == site.per_item)
        {
            let mut error = syn::Error::new(
                site.span,
                format_args!(
                    "duplicate key `{}`: another site of this workflow already uses it, so they would replay each other's outcomes; give one of them a distinct label",
                    site.key
                ),
            );
            error.combine(syn::Error::new(
                first.span,
                format_args!("key `{}` first used here", site.key),
            ));
            errors.push(error);
        }
    }
}

/// An approval whose key is a literal must own it: a step, created hook or sleep with that key, or
/// another approval with it, would read the same entry; in a loop, every iteration would read the
/// first one's decision. An error at the literal (keys built at run time are checked by the run).
fn report_approval_keys(sites: &[Site], errors: &mut Errors) {
    for (position, site) in sites.iter().enumerate() {
        let Some((key, span)) = &site.literal_key else {
            continue;
        };
        if site.in_loop {
            errors.push(syn::Error::new(
                *span,
                format_args!(
                    "`await_approval!` with the fixed key `{key}` cannot sit in a loop: every iteration would read the first one's decision; build the key from the iteration, e.g. `format!(\"{key}:{{id}}\")`"
                ),
            ));
        }
        let labelled = sites
            .iter()
            .find(|other| other.has_static_key() && !other.per_item && other.key == *key);
        if let Some(other) = labelled {
            let mut error = syn::Error::new(
                *span,
                format_args!(
                    "approval key `{key}` is also the key of a {} of this workflow, so they would read each other's entries; give the approval a key of its own, e.g. `\"approve:{key}\"`",
                    other.kind.describe()
                ),
            );
            error.combine(syn::Error::new(
                other.span,
                format_args!("key `{key}` used here"),
            ));
            errors.push(error);
            continue;
        }
        let earlier = sites[..position].iter().find_map(|earlier| {
            earlier
                .literal_key
                .as_ref()
                .filter(|(earlier_key, _)| earlier_key == key)
        });
        if let Some((_, first)) = earlier {
            let mut error = syn::Error::new(
                *span,
                format_args!(
                    "approval key `{key}` is already used by another `await_approval!` of this workflow, so both would read the same decision; give each approval a key of its own"
                ),
            );
            error.combine(syn::Error::new(
                *first,
                format_args!("key `{key}` first used here"),
            ));
            errors.push(error);
        }
    }
}
