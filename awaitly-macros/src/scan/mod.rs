//! Walks the fn body, finds every `step!` / `await_hook!` / `await_approval!` / `sleep!` site in
//! source order, checks where it stands, and rewrites it in place (with [`crate::expand`]'s glue,
//! or with its compile error).
//!
//! Scope rules: sites may sit anywhere in the body's own statements and expressions, including
//! loops and branches. They may not sit inside closures or `async` blocks (which may run zero or
//! many times, or concurrently), inside another site's arguments, or inside other macros' arguments
//! (which `#[workflow]` cannot parse); each such site gets its own error, and a well-typed hole in
//! its place so that the error does not cascade. Nested items
//! (`fn`, `impl`, `mod`, `macro_rules!` …) are not entered: a site there reaches the front macro
//! itself, whose error says it only works inside a `#[workflow]` fn.

mod foreign;
mod hole;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Macro, Stmt};

use crate::errors::Errors;
use crate::expand;
use crate::key;
use crate::site::{ApprovalArgs, HookArgs, HookTarget, MacroKind, SleepArgs, StepArgs};

/// Runtime kind of a site, as the description names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SiteKind {
    Step,
    HookById,
    CreatedHook,
    Approval,
    Sleep,
}

/// A site found in the body, in source order.
pub(crate) struct Site {
    pub(crate) kind: SiteKind,
    /// The label or derived name (for a hook by id or an approval: the key expression's text).
    pub(crate) key: String,
    pub(crate) per_item: bool,
    pub(crate) in_loop: bool,
    pub(crate) in_branch: bool,
    pub(crate) span: Span,
    /// An approval's key when it is a string literal, with the literal's span: checked at compile
    /// time against the other sites' keys.
    pub(crate) literal_key: Option<(String, Span)>,
}

impl Site {
    /// Sites whose keys are fixed at compile time, and so can collide.
    pub(crate) fn has_static_key(&self) -> bool {
        !matches!(self.kind, SiteKind::HookById | SiteKind::Approval)
    }
}

impl SiteKind {
    /// How diagnostics name the kind.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Step => "`step!`",
            Self::HookById | Self::CreatedHook => "`await_hook!`",
            Self::Approval => "`await_approval!`",
            Self::Sleep => "`sleep!`",
        }
    }
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

/// What the rewrite of a site needs besides the site itself.
pub(crate) struct Settings<'a> {
    pub(crate) krate: &'a syn::Path,
    /// `#[workflow(rerun_failed)]`: failures recorded by earlier runs are executed again.
    pub(crate) rerun_failed: bool,
}

/// Rewrites every site of `block` into generated glue and returns the sites in source order.
pub(crate) fn rewrite(
    block: &mut syn::Block,
    settings: &Settings<'_>,
    errors: &mut Errors,
) -> Vec<Site> {
    let mut scanner = Scanner {
        krate: Some(settings.krate),
        rerun_failed: settings.rerun_failed,
        sites: Vec::new(),
        enclosing: Vec::new(),
        loops: 0,
        branches: 0,
        errors,
    };
    scanner.visit_block_mut(block);
    scanner.sites
}

/// Replaces every site of `block` with a hole, for a fn that cannot be expanded: the user then sees
/// the one error about the fn, not one more per site.
pub(crate) fn replace_with_placeholders(block: &mut syn::Block) {
    let mut errors = Errors::default();
    let mut scanner = Scanner {
        krate: None,
        rerun_failed: false,
        sites: Vec::new(),
        enclosing: Vec::new(),
        loops: 0,
        branches: 0,
        errors: &mut errors,
    };
    scanner.visit_block_mut(block);
}

struct Scanner<'a> {
    /// `None`: placeholder mode.
    krate: Option<&'a syn::Path>,
    rerun_failed: bool,
    sites: Vec<Site>,
    enclosing: Vec<Enclosing>,
    /// How many loops (`for`, `while`, `loop`) enclose the current expression.
    loops: u32,
    /// How many branches (`if`, `match` arms) enclose the current expression.
    branches: u32,
    errors: &'a mut Errors,
}

impl Scanner<'_> {
    /// The replacement expression for one site: its glue, or a [`hole`](Self::hole) and its error.
    fn site(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        let span = mac.path.span();
        let Some(krate) = self.krate else {
            return self.hole(mac, kind);
        };
        if let Some(enclosing) = self.enclosing.last().copied() {
            self.errors.push(syn::Error::new(
                span,
                format_args!("`{}!` cannot be used {}", kind.name(), enclosing.describe()),
            ));
            return self.hole(mac, kind);
        }
        self.enclosing.push(Enclosing::Site(kind));
        let glue = match kind {
            MacroKind::Step => self.step(mac, span, krate),
            MacroKind::AwaitHook => self.hook(mac, span, krate),
            MacroKind::AwaitApproval => self.approval(mac, span, krate),
            MacroKind::Sleep => self.sleep(mac, span, krate),
        };
        self.enclosing.pop();
        match glue.and_then(|tokens| syn::parse2(wrap(mac, &tokens))) {
            Ok(expr) => expr,
            Err(error) => {
                self.errors.push(error);
                self.hole(mac, kind)
            }
        }
    }

    /// Records a site and returns its index (its position in the description).
    fn record(&mut self, kind: SiteKind, key: String, per_item: bool, span: Span) -> usize {
        self.sites.push(Site {
            kind,
            key,
            per_item,
            in_loop: self.loops > 0,
            in_branch: self.branches > 0,
            span,
            literal_key: None,
        });
        self.sites.len() - 1
    }

    fn step(&mut self, mac: &Macro, span: Span, krate: &syn::Path) -> syn::Result<TokenStream> {
        let mut args: StepArgs = mac.parse_body()?;
        let key = match &args.label {
            Some(label) => checked_label(label)?,
            None => called_name(&args.body)
                .and_then(|name| key::derive_from_call(&name))
                .ok_or_else(|| {
                    syn::Error::new_spanned(
                        &args.body,
                        "cannot derive a key for this `step!`: it does not call a named function or method; give it a label: `step!(\"name\", expression)`",
                    )
                })?,
        };
        for value in args.options.values_mut() {
            self.visit_expr_mut(value);
        }
        self.visit_expr_mut(&mut args.body);
        let index = self.record(SiteKind::Step, key, args.item().is_some(), span);
        Ok(expand::step_glue(
            krate,
            index,
            span,
            &args,
            self.rerun_failed,
        ))
    }

    fn hook(&mut self, mac: &Macro, span: Span, krate: &syn::Path) -> syn::Result<TokenStream> {
        let mut args: HookArgs = mac.parse_body()?;
        let (kind, key) = match &mut args.target {
            HookTarget::Label(label) => (SiteKind::CreatedHook, checked_label(label)?),
            HookTarget::Id(id) => {
                self.visit_expr_mut(id);
                (SiteKind::HookById, source_text(id))
            }
        };
        for value in args.options.values_mut() {
            self.visit_expr_mut(value);
        }
        let per_item = args.options.get(crate::site::KEY).is_some();
        let index = self.record(kind, key, per_item, span);
        Ok(expand::hook_glue(krate, index, span, &args))
    }

    fn approval(&mut self, mac: &Macro, span: Span, krate: &syn::Path) -> syn::Result<TokenStream> {
        let mut args: ApprovalArgs = mac.parse_body()?;
        let literal = string_literal(&args.key)
            .map(|literal| {
                let key = literal.value();
                key::check_approval_key(&key)
                    .map(|()| (key, literal.span()))
                    .map_err(|message| syn::Error::new(literal.span(), message))
            })
            .transpose()?;
        self.visit_expr_mut(&mut args.key);
        for value in args.options.values_mut() {
            self.visit_expr_mut(value);
        }
        let index = self.record(SiteKind::Approval, source_text(&args.key), false, span);
        self.sites[index].literal_key = literal;
        Ok(expand::approval_glue(krate, span, &args))
    }

    fn sleep(&mut self, mac: &Macro, span: Span, krate: &syn::Path) -> syn::Result<TokenStream> {
        let mut args: SleepArgs = mac.parse_body()?;
        let key = checked_label(&args.label)?;
        if let Some(item) = &mut args.item {
            self.visit_expr_mut(item);
        }
        self.visit_expr_mut(&mut args.duration);
        let index = self.record(SiteKind::Sleep, key, args.item.is_some(), span);
        Ok(expand::sleep_glue(krate, index, span, &args))
    }

    /// Visits `expr` counted as inside a loop or a branch.
    fn nested(&mut self, in_loop: bool, visit: impl FnOnce(&mut Self)) {
        let counter = if in_loop {
            &mut self.loops
        } else {
            &mut self.branches
        };
        *counter += 1;
        visit(self);
        let counter = if in_loop {
            &mut self.loops
        } else {
            &mut self.branches
        };
        *counter -= 1;
    }
}

fn checked_label(label: &syn::LitStr) -> syn::Result<String> {
    let value = label.value();
    key::check_label(&value).map_err(|message| syn::Error::new(label.span(), message))?;
    Ok(value)
}

/// The string literal `expr` is (through parentheses and invisible groups), if it is one.
fn string_literal(expr: &Expr) -> Option<&syn::LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        }) => Some(literal),
        Expr::Paren(inner) => string_literal(&inner.expr),
        Expr::Group(inner) => string_literal(&inner.expr),
        _ => None,
    }
}

/// An expression as compact text, to describe a site whose key is only known at run time.
fn source_text(expr: &Expr) -> String {
    expr.to_token_stream()
        .to_string()
        .split_whitespace()
        .collect()
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
            Expr::ForLoop(for_loop) => {
                self.visit_expr_mut(&mut for_loop.expr);
                self.nested(true, |scanner| scanner.visit_block_mut(&mut for_loop.body));
            }
            Expr::While(_) | Expr::Loop(_) => {
                self.nested(true, |scanner| visit_mut::visit_expr_mut(scanner, expr));
            }
            Expr::If(if_expr) => {
                self.visit_expr_mut(&mut if_expr.cond);
                self.nested(false, |scanner| {
                    scanner.visit_block_mut(&mut if_expr.then_branch);
                    if let Some((_, otherwise)) = &mut if_expr.else_branch {
                        scanner.visit_expr_mut(otherwise);
                    }
                });
            }
            Expr::Match(match_expr) => {
                self.visit_expr_mut(&mut match_expr.expr);
                self.nested(false, |scanner| {
                    for arm in &mut match_expr.arms {
                        scanner.visit_arm_mut(arm);
                    }
                });
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
