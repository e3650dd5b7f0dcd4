//! The glue of the constructs that run parts of the body at once. Each branch or item gets a
//! context of its own (its scope: a path component of its sites' keys), and is polled in place —
//! no task is spawned, so branches borrow the body's locals and need not be `Send` or `'static`.
//!
//! Inside a branch, the generated context local is shadowed by a reference to the branch's
//! context, so the glue of the sites inside is the same as anywhere else.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::visit::Visit;

use super::local;
use crate::site::{BranchesArgs, CONCURRENCY, FanOutArgs, KEY, MacroKind};

/// Glue of `all!` and `try_all!`: every branch runs to its end (or, for `try_all!`, until the
/// first `Err`); the outputs as a tuple in branch order.
pub(super) fn all_glue(
    krate: &TokenStream,
    index: usize,
    span: Span,
    kind: MacroKind,
    args: &BranchesArgs,
) -> TokenStream {
    let context = local("__awaitly_ctx", span);
    let key = local("__awaitly_key", span);
    let split = local("__awaitly_split", span);
    let task = local("__awaitly_task", span);
    let value = local("__awaitly_value", span);
    let count = args.branches.len();
    let contexts = numbered("__awaitly_branch", count, span);
    let futures = numbered("__awaitly_future", count, span);
    let outputs = numbered("__awaitly_output", count, span);
    let taken = numbered("__awaitly_taken", count, span);
    let names = args.branches.iter().map(|(name, _)| name.to_string());
    let bodies = args.branches.iter().map(|(_, body)| body);
    let fail_fast = kind == MacroKind::TryAll;
    let polls = futures.iter().zip(&outputs).map(|(future, output)| {
        let store = if fail_fast {
            quote_spanned! {span=>
                match #value {
                    ::core::result::Result::Ok(#value) => #output = ::core::option::Option::Some(#value),
                    ::core::result::Result::Err(#value) => {
                        return ::core::task::Poll::Ready(::core::result::Result::Err(#value));
                    }
                }
            }
        } else {
            quote_spanned! {span=> #output = ::core::option::Option::Some(#value); }
        };
        quote_spanned! {span=>
            if #output.is_none() {
                if let ::core::task::Poll::Ready(#value) =
                    ::core::future::Future::poll(#future.as_mut(), #task)
                {
                    #split.close_one();
                    #store
                }
            }
        }
    });
    let done = if fail_fast {
        quote_spanned! {span=> ::core::result::Result::Ok((#(#outputs),*,)) }
    } else {
        quote_spanned! {span=> (#(#outputs),*,) }
    };
    quote_spanned! {span=> {
        let #key = #context.construct_key(#index);
        #( let #contexts = #context.branch(&#key, #names); )*
        let mut #split = #context.split(#count);
        #( let mut #futures = ::core::pin::pin!(async {
            let #context: &#krate::__private::Context = &#contexts;
            #bodies
        }); )*
        #( let mut #outputs = ::core::option::Option::None; )*
        ::core::future::poll_fn(|#task| {
            #(#polls)*
            match (#(#outputs.take()),*,) {
                (#(::core::option::Option::Some(#outputs)),*,) => ::core::task::Poll::Ready(#done),
                (#(#taken),*,) => {
                    #( #outputs = #taken; )*
                    ::core::task::Poll::Pending
                }
            }
        })
        .await
    }}
}

/// Glue of `race!`: the recorded winner's branch alone (its sites replay), or every branch until
/// the first ends; that one's name is recorded before the run goes on.
pub(super) fn race_glue(
    krate: &TokenStream,
    index: usize,
    span: Span,
    args: &BranchesArgs,
) -> TokenStream {
    let context = local("__awaitly_ctx", span);
    let key = local("__awaitly_key", span);
    let split = local("__awaitly_split", span);
    let task = local("__awaitly_task", span);
    let recorded = local("__awaitly_recorded", span);
    let winner = local("__awaitly_winner", span);
    let value = local("__awaitly_value", span);
    let names_local = local("__awaitly_names", span);
    let count = args.branches.len();
    let contexts = numbered("__awaitly_branch", count, span);
    let futures = numbered("__awaitly_future", count, span);
    let names: Vec<String> = args
        .branches
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let bodies = args.branches.iter().map(|(_, body)| body);
    let polls = futures.iter().enumerate().map(|(position, future)| {
        quote_spanned! {span=>
            if #recorded.is_none_or(|#winner| #winner == #position) {
                if let ::core::task::Poll::Ready(#value) =
                    ::core::future::Future::poll(#future.as_mut(), #task)
                {
                    return ::core::task::Poll::Ready((#position, #value));
                }
            }
        }
    });
    quote_spanned! {span=> {
        let #key = #context.construct_key(#index);
        let #names_local: [&str; #count] = [#(#names),*];
        let #recorded: ::core::option::Option<usize> = match #context.race_start(&#key, &#names_local) {
            #krate::__private::RaceStart::Recorded(#winner) => ::core::option::Option::Some(#winner),
            #krate::__private::RaceStart::Open => ::core::option::Option::None,
            #krate::__private::RaceStart::Halt => match #context.halt().await {},
        };
        #( let #contexts = #context.branch(&#key, #names); )*
        let (#winner, #value) = {
            let #split = #context.split(if #recorded.is_some() { 1 } else { #count });
            #( let mut #futures = ::core::pin::pin!(async {
                let #context: &#krate::__private::Context = &#contexts;
                #bodies
            }); )*
            ::core::future::poll_fn(|#task| {
                let _ = &#split;
                #(#polls)*
                ::core::task::Poll::Pending
            })
            .await
        };
        if #recorded.is_none()
            && !#context.checkpoint(#context.record_winner(#key, #names_local[#winner])).await
        {
            match #context.halt().await {}
        }
        #value
    }}
}

/// Glue of `fan_out!` and `try_fan_out!`: the runtime drives the items; each item's body is an
/// async closure given the item's context.
pub(super) fn fan_out_glue(
    krate: &TokenStream,
    index: usize,
    span: Span,
    kind: MacroKind,
    args: &FanOutArgs,
) -> TokenStream {
    let context = local("__awaitly_ctx", span);
    let item_context = local("__awaitly_item_context", span);
    let position = local("__awaitly_position", span);
    let outcome = local("__awaitly_outcome", span);
    let FanOutArgs {
        pattern,
        items,
        options,
        body,
        ..
    } = args;
    let key = if let Some(key) = options.get(KEY) {
        // Bindings the key does not use are used here, so they raise no warning.
        let bindings = bindings(pattern);
        quote_spanned! {span=>
            |#position: usize, #pattern: &_| {
                let _ = #position;
                #( let _ = &#bindings; )*
                ::std::string::ToString::to_string(&(#key))
            }
        }
    } else {
        quote_spanned! {span=> |#position: usize, _: &_| #position }
    };
    let concurrency = if let Some(concurrency) = options.get(CONCURRENCY) {
        quote_spanned! {span=> ::core::option::Option::Some::<usize>(#concurrency) }
    } else {
        quote_spanned! {span=> ::core::option::Option::None }
    };
    let driver = if kind == MacroKind::TryFanOut {
        format_ident!("try_fan_out", span = span)
    } else {
        format_ident!("fan_out", span = span)
    };
    quote_spanned! {span=>
        match #context
            .#driver(
                #index,
                #items,
                #key,
                #concurrency,
                async |#item_context: #krate::__private::Context, #pattern| {
                    let #context: &#krate::__private::Context = &#item_context;
                    #body
                },
            )
            .await
        {
            ::core::option::Option::Some(#outcome) => #outcome,
            ::core::option::Option::None => match #context.halt().await {},
        }
    }
}

/// `name_0`, `name_1`, … as generated locals.
fn numbered(name: &str, count: usize, span: Span) -> Vec<Ident> {
    (0..count)
        .map(|position| local(&format!("{name}_{position}"), span))
        .collect()
}

/// The names a pattern binds.
fn bindings(pattern: &syn::Pat) -> Vec<Ident> {
    struct Bindings(Vec<Ident>);
    impl<'ast> Visit<'ast> for Bindings {
        fn visit_pat_ident(&mut self, binding: &'ast syn::PatIdent) {
            self.0.push(binding.ident.clone());
            syn::visit::visit_pat_ident(self, binding);
        }
    }
    let mut found = Bindings(Vec::new());
    found.visit_pat(pattern);
    found.0
}
