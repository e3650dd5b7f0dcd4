//! The glue of each site: what a `step!`, `await_hook!`, `await_approval!` or `sleep!` becomes.
//!
//! The glue is *located* at the site's macro path (resolved at the macro, `mixed_site`), so type
//! errors in it (a non-serialisable output, a step that is not a `Result`) point at the user's
//! site rather than at `#[workflow]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};

use super::local;
use crate::site::{
    ApprovalArgs, COMPENSATE, ChildArgs, HookArgs, HookTarget, KEY, METADATA, REASON, RERUN_FAILED,
    RETRY, SleepArgs, StepArgs, TIMEOUT,
};

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
pub(super) fn step_glue(
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
    // An undo is registered right after the outcome is known, replayed or executed.
    let compensate = args.options.get(COMPENSATE).map(|undo| {
        quote_spanned! {span=> #context.compensate_on(&#outcome, #undo); }
    });
    quote_spanned! {span=>
        match #context.begin_step(#index, #item, #failures) {
            #krate::__private::StepStart::Replayed(#outcome) => {
                #compensate
                #outcome
            }
            #krate::__private::StepStart::Execute(#mutable #ticket) => {
                #execute
                let #checkpoint = #context.finish_step(#ticket, &#outcome);
                #compensate
                if #context.checkpoint(#checkpoint).await {
                    #outcome
                } else {
                    match #context.halt().await {}
                }
            }
            #krate::__private::StepStart::Halt => match #context.halt().await {},
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
pub(super) fn hook_glue(
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
            let item = if let Some(item) = args.options.get(KEY) {
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
            ::core::option::Option::None => match #context.halt().await {},
        }
    }
}

/// Glue of one `await_approval!`: `Result<value, ApprovalError>` once decided, or a halt.
pub(super) fn approval_glue(krate: &syn::Path, span: Span, args: &ApprovalArgs) -> TokenStream {
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
            ::core::option::Option::None => match #context.halt().await {},
        }
    }
}

/// Glue of one `sleep!`: go on once the recorded wake-up time has passed, else halt.
pub(super) fn sleep_glue(index: usize, span: Span, args: &SleepArgs) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let context = local("__awaitly_ctx", span);
    let duration = &args.duration;
    let item = item_argument(args.item.as_ref(), span);
    quote_spanned! {span=>
        if !#context.sleep(#index, #item, #duration) {
            match #context.halt().await {}
        }
    }
}

/// Glue of one `child!`: the child's outcome once delivered, else a halt (the run waits).
pub(super) fn child_glue(index: usize, span: Span, args: &ChildArgs) -> TokenStream {
    let span = Span::mixed_site().located_at(span);
    let context = local("__awaitly_ctx", span);
    let outcome = local("__awaitly_outcome", span);
    let ChildArgs {
        workflow, input, ..
    } = args;
    quote_spanned! {span=>
        match #context.await_child(
            #index,
            ::core::convert::AsRef::<str>::as_ref(&(#workflow)),
            &(#input),
        ) {
            ::core::option::Option::Some(#outcome) => #outcome,
            ::core::option::Option::None => match #context.halt().await {},
        }
    }
}

/// `path` with every token located at `span` (and resolved as before), so that diagnostics about
/// the runtime items the glue calls point at the site, not at `#[workflow]`.
pub(super) fn located(path: &syn::Path, span: Span) -> TokenStream {
    path.to_token_stream()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(tree.span().located_at(span));
            tree
        })
        .collect()
}
