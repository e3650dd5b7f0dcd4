//! Walks the fn body, finds every `step!` / `await_hook!` site in source order, checks where it
//! stands, and rewrites it in place (with [`crate::expand`]'s glue, or with its compile error).
//!
//! Scope rules: sites may sit anywhere in the body's own statements and expressions, including
//! loops and branches. They may not sit inside closures or `async` blocks (which may run zero or
//! many times, or concurrently), inside another site's arguments, or inside other macros' arguments
//! (which `#[workflow]` cannot parse); each such site is replaced by its own error. Nested items
//! (`fn`, `impl`, `mod`, `macro_rules!` …) are not entered: a site there reaches the `step!` /
//! `await_hook!` macro itself, whose error says it only works inside a `#[workflow]` fn.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Macro, Stmt};

use crate::errors::Errors;
use crate::expand;
use crate::key;
use crate::site::{HookArgs, HookTarget, MacroKind, StepArgs};

/// Runtime kind of a site, as the description names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SiteKind {
    Step,
    HookById,
    CreatedHook,
}

/// A site found in the body, in source order.
pub(crate) struct Site {
    pub(crate) kind: SiteKind,
    /// The label or derived name (for a hook by id: the id expression's text).
    pub(crate) key: String,
    pub(crate) per_item: bool,
    pub(crate) span: Span,
}

#[derive(Clone, Copy)]
enum Enclosing {
    Closure,
    AsyncBlock,
    Site(MacroKind),
}

impl Enclosing {
    fn describe(self) -> String {
        match self {
            Self::Closure => "inside a closure: a closure may run zero or many times, so its key cannot be replayed; move it to the workflow body".to_owned(),
            Self::AsyncBlock => "inside an `async` block: it may run concurrently or not at all, so its key cannot be replayed; move it to the workflow body".to_owned(),
            Self::Site(outer) => format!("inside the arguments of another `{}!`; bind the inner result to a variable first", outer.name()),
        }
    }
}

/// Rewrites every site of `block` into generated glue and returns the sites in source order.
pub(crate) fn rewrite(block: &mut syn::Block, krate: &syn::Path, errors: &mut Errors) -> Vec<Site> {
    let mut scanner = Scanner {
        krate: Some(krate),
        sites: Vec::new(),
        enclosing: Vec::new(),
        errors,
    };
    scanner.visit_block_mut(block);
    scanner.sites
}

/// Replaces every site of `block` with a diverging placeholder, for a fn that cannot be expanded: the
/// user then sees the one error about the fn, not one more per site.
pub(crate) fn replace_with_placeholders(block: &mut syn::Block) {
    let mut errors = Errors::default();
    let mut scanner = Scanner {
        krate: None,
        sites: Vec::new(),
        enclosing: Vec::new(),
        errors: &mut errors,
    };
    scanner.visit_block_mut(block);
}

struct Scanner<'a> {
    /// `None`: placeholder mode.
    krate: Option<&'a syn::Path>,
    sites: Vec<Site>,
    enclosing: Vec<Enclosing>,
    errors: &'a mut Errors,
}

impl Scanner<'_> {
    /// The replacement expression for one site.
    fn site(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        let span = mac.path.span();
        let Some(krate) = self.krate else {
            return placeholder(span);
        };
        if let Some(enclosing) = self.enclosing.last().copied() {
            return self.error(syn::Error::new(
                span,
                format_args!("`{}!` cannot be used {}", kind.name(), enclosing.describe()),
            ));
        }
        let index = self.sites.len();
        self.enclosing.push(Enclosing::Site(kind));
        let glue = match kind {
            MacroKind::Step => self.step(mac, index, span, krate),
            MacroKind::AwaitHook => self.hook(mac, index, span, krate),
        };
        self.enclosing.pop();
        match glue {
            Ok(tokens) => syn::parse2(wrap(mac, &tokens)).unwrap_or_else(|error| self.error(error)),
            Err(error) => self.error(error),
        }
    }

    fn step(
        &mut self,
        mac: &Macro,
        index: usize,
        span: Span,
        krate: &syn::Path,
    ) -> syn::Result<TokenStream> {
        let mut args: StepArgs = mac.parse_body()?;
        let key = match &args.label {
            Some(label) => {
                key::check_label(&label.value()).map_err(|message| syn::Error::new(label.span(), message))?;
                label.value()
            }
            None => called_name(&args.body)
                .and_then(|name| key::derive_from_call(&name))
                .ok_or_else(|| {
                    syn::Error::new_spanned(
                        &args.body,
                        "cannot derive a key for this `step!`: it does not call a named function or method; give it a label: `step!(\"name\", expression)`",
                    )
                })?,
        };
        if let Some(item) = &mut args.item {
            self.visit_expr_mut(item);
        }
        self.visit_expr_mut(&mut args.body);
        self.sites.push(Site {
            kind: SiteKind::Step,
            key,
            per_item: args.item.is_some(),
            span,
        });
        Ok(expand::step_glue(krate, index, span, &args))
    }

    fn hook(
        &mut self,
        mac: &Macro,
        index: usize,
        span: Span,
        krate: &syn::Path,
    ) -> syn::Result<TokenStream> {
        let mut args: HookArgs = mac.parse_body()?;
        let (kind, key) = match &mut args.target {
            HookTarget::Label(label) => {
                key::check_label(&label.value())
                    .map_err(|message| syn::Error::new(label.span(), message))?;
                (SiteKind::CreatedHook, label.value())
            }
            HookTarget::Id(id) => {
                self.visit_expr_mut(id);
                let text: String = id
                    .to_token_stream()
                    .to_string()
                    .split_whitespace()
                    .collect();
                (SiteKind::HookById, text)
            }
        };
        if let Some(item) = &mut args.item {
            self.visit_expr_mut(item);
        }
        if let Some(metadata) = &mut args.metadata {
            self.visit_expr_mut(metadata);
        }
        self.sites.push(Site {
            kind,
            key,
            per_item: args.item.is_some(),
            span,
        });
        Ok(expand::hook_glue(krate, index, span, &args))
    }

    fn error(&mut self, error: syn::Error) -> Expr {
        let span = error.span();
        self.errors.push(error);
        placeholder(span)
    }

    /// Finds sites inside another macro's tokens and replaces each with its error.
    fn foreign(&mut self, mac: &mut Macro) {
        if self.krate.is_none() {
            return;
        }
        let outer = mac
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string())
            .unwrap_or_default();
        mac.tokens = self.foreign_tokens(std::mem::take(&mut mac.tokens), &outer);
    }

    fn foreign_tokens(&mut self, tokens: TokenStream, outer: &str) -> TokenStream {
        let mut output = Vec::new();
        let mut trees = tokens.into_iter().peekable();
        while let Some(tree) = trees.next() {
            match tree {
                TokenTree::Ident(ident) => {
                    let kind = MacroKind::of_name(&ident.to_string());
                    let bang = matches!(trees.peek(), Some(TokenTree::Punct(punct)) if punct.as_char() == '!');
                    match kind {
                        Some(kind) if bang => {
                            trees.next();
                            // Drop the site's argument group too: it is replaced by the error.
                            if matches!(trees.peek(), Some(TokenTree::Group(_))) {
                                trees.next();
                            }
                            let error = syn::Error::new(
                                ident.span(),
                                format_args!(
                                    "`{}!` cannot be used inside the arguments of `{outer}!`; bind its result to a variable before `{outer}!`",
                                    kind.name()
                                ),
                            );
                            self.errors.push(error);
                            output.extend(placeholder(ident.span()).into_token_stream());
                        }
                        _ => output.push(TokenTree::Ident(ident)),
                    }
                }
                TokenTree::Group(group) => {
                    let mut rebuilt = Group::new(
                        group.delimiter(),
                        self.foreign_tokens(group.stream(), outer),
                    );
                    rebuilt.set_span(group.span());
                    output.push(TokenTree::Group(rebuilt));
                }
                other => output.push(other),
            }
        }
        output.into_iter().collect()
    }
}

impl VisitMut for Scanner<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Macro(expr_macro) => match MacroKind::of(&expr_macro.mac.path) {
                Some(kind) => *expr = self.site(&expr_macro.mac, kind),
                None => self.foreign(&mut expr_macro.mac),
            },
            Expr::Closure(_) => {
                self.enclosing.push(Enclosing::Closure);
                visit_mut::visit_expr_mut(self, expr);
                self.enclosing.pop();
            }
            Expr::Async(_) => {
                self.enclosing.push(Enclosing::AsyncBlock);
                visit_mut::visit_expr_mut(self, expr);
                self.enclosing.pop();
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(stmt_macro) = stmt {
            match MacroKind::of(&stmt_macro.mac.path) {
                Some(kind) => {
                    let replacement = self.site(&stmt_macro.mac, kind);
                    *stmt = Stmt::Expr(replacement, stmt_macro.semi_token);
                }
                None => self.foreign(&mut stmt_macro.mac),
            }
            return;
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {
        // Nested items are separate fns: their sites reach the front macro's error.
    }
}

/// The name of the function or method a step's expression calls: `create_order(&x).await?` →
/// `create_order`, `client.charge(x).await` → `charge`.
fn called_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Await(inner) => called_name(&inner.base),
        Expr::Try(inner) => called_name(&inner.expr),
        Expr::Paren(inner) => called_name(&inner.expr),
        Expr::Group(inner) => called_name(&inner.expr),
        Expr::Reference(inner) => called_name(&inner.expr),
        Expr::MethodCall(call) => Some(call.method.to_string()),
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => path
                .path
                .segments
                .last()
                .map(|segment| segment.ident.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Passes the generated glue through the user's own `step!` / `await_hook!` path, so the import
/// the user wrote is used (no `unused_imports` warning) and resolves as written.
fn wrap(mac: &Macro, glue: &TokenStream) -> TokenStream {
    let path = &mac.path;
    let span = mac.path.span();
    quote_spanned! {span=> #path! { @__awaitly_expanded { #glue } } }
}

/// A diverging expression standing in for a site that cannot be expanded.
fn placeholder(span: Span) -> Expr {
    syn::parse_quote_spanned! {span=> ::core::unreachable!() }
}
