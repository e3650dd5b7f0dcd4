//! Walks the fn body, finds every `step!` / `await_hook!` / `await_approval!` / `sleep!` site in
//! source order, checks where it stands, parses its arguments and derives its key. Emits no code:
//! each site is replaced by a [`Slot`] marker and described by a [`Site`] (or, when it is a
//! mistake, by a [`Hole`] and its error), which [`crate::expand`] turns into code.
//!
//! Scope rules: sites may sit anywhere in the body's own statements and expressions, including
//! loops and branches. They may not sit inside closures or `async` blocks (which may run zero or
//! many times, or concurrently), inside another site's arguments, or inside other macros' arguments
//! (which `#[workflow]` cannot parse); each such site gets its own error, and a well-typed hole in
//! its place so that the error does not cascade. Nested items
//! (`fn`, `impl`, `mod`, `macro_rules!` …) are not entered: a site there reaches the front macro
//! itself, whose error says it only works inside a `#[workflow]` fn.

mod foreign;
mod salvage;
#[cfg(test)]
mod tests;

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Macro, Stmt};

use crate::errors::Errors;
use crate::key;
use crate::site::{Hole, HookTarget, MacroKind, Site, SiteArgs, SiteKind, Slot};

/// What the scan does with the sites it finds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Check each site, derive its key, and report its mistakes: the fn is expanded.
    Check,
    /// Replace each site with a hole and report nothing: the fn cannot be expanded and its one
    /// error is already reported (or, inside a hole, the sites belong to a reported mistake).
    Silence,
}

/// What the scan found: the sites, in source order (their index is their position in the
/// workflow's description), and the holes. The body holds a [`Slot`] marker for each.
#[derive(Default)]
pub(crate) struct Scanned {
    pub(crate) sites: Vec<Site>,
    pub(crate) holes: Vec<Hole>,
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

/// Scans `block`, replacing each site with its [`Slot`] marker.
pub(crate) fn scan(block: &mut syn::Block, mode: Mode, errors: &mut Errors) -> Scanned {
    let mut scanner = Scanner {
        mode,
        found: Scanned::default(),
        enclosing: Vec::new(),
        loops: 0,
        branches: 0,
        parent: None,
        errors,
    };
    scanner.visit_block_mut(block);
    scanner.found
}

struct Scanner<'a> {
    mode: Mode,
    found: Scanned,
    enclosing: Vec<Enclosing>,
    /// How many loops (`for`, `while`, `loop`) enclose the current expression.
    loops: u32,
    /// How many branches (`if`, `match` arms) enclose the current expression.
    branches: u32,
    /// The construct (site index) and branch whose body is being scanned.
    parent: Option<(usize, String)>,
    errors: &'a mut Errors,
}

impl Scanner<'_> {
    /// The marker replacing one site: a [`Site`]'s, or a [`Hole`]'s after recording its error.
    fn site(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        if self.mode == Mode::Silence {
            return self.hole(mac, kind);
        }
        if let Some(enclosing) = self.enclosing.last().copied() {
            self.errors.push(syn::Error::new(
                mac.path.span(),
                format_args!("`{}!` cannot be used {}", kind.name(), enclosing.describe()),
            ));
            return self.hole(mac, kind);
        }
        self.enclosing.push(Enclosing::Site(kind));
        let site = self.classify(mac, kind);
        self.enclosing.pop();
        match site {
            Ok(site) => {
                let construct = site.is_construct();
                self.found.sites.push(site);
                let index = self.found.sites.len() - 1;
                if construct {
                    self.construct_bodies(index);
                }
                marker(Slot::Site(index), mac)
            }
            Err(error) => {
                self.errors.push(error);
                self.hole(mac, kind)
            }
        }
    }

    /// Parses a site's arguments, derives its key, and scans the expressions in its arguments.
    fn classify(&mut self, mac: &Macro, kind: MacroKind) -> syn::Result<Site> {
        let macro_kind = kind;
        let mut args = SiteArgs::parse(kind, mac)?;
        let (kind, key, per_item, literal_key) = match &args {
            SiteArgs::Step(step) => {
                let key = match &step.label {
                    Some(label) => checked_label(label)?,
                    None => called_name(&step.body)
                        .and_then(|name| key::derive_from_call(&name))
                        .ok_or_else(|| {
                            syn::Error::new_spanned(
                                &step.body,
                                "cannot derive a key for this `step!`: it does not call a named function or method; give it a label: `step!(\"name\", expression)`",
                            )
                        })?,
                };
                (SiteKind::Step, key, step.item().is_some(), None)
            }
            SiteArgs::Hook(hook) => {
                let per_item = hook.options.get(crate::site::KEY).is_some();
                match &hook.target {
                    HookTarget::Label(label) => {
                        (SiteKind::CreatedHook, checked_label(label)?, per_item, None)
                    }
                    HookTarget::Id(id) => (SiteKind::HookById, source_text(id), per_item, None),
                }
            }
            SiteArgs::Approval(approval) => {
                let literal = string_literal(&approval.key)
                    .map(|literal| {
                        let key = literal.value();
                        key::check_approval_key(&key)
                            .map(|()| (key, literal.span()))
                            .map_err(|message| syn::Error::new(literal.span(), message))
                    })
                    .transpose()?;
                (
                    SiteKind::Approval,
                    source_text(&approval.key),
                    false,
                    literal,
                )
            }
            SiteArgs::Sleep(sleep) => (
                SiteKind::Sleep,
                checked_label(&sleep.label)?,
                sleep.item.is_some(),
                None,
            ),
            SiteArgs::Branches(branches) => {
                if let Some(error) = branches.duplicate_branch(kind) {
                    self.errors.push(error);
                }
                let kind = if kind == MacroKind::Race {
                    SiteKind::Race
                } else {
                    SiteKind::Parallel
                };
                (kind, checked_label(&branches.label)?, false, None)
            }
            SiteArgs::Child(child) => (SiteKind::Child, checked_label(&child.label)?, false, None),
            SiteArgs::FanOut(fan_out) => (
                SiteKind::FanOut,
                checked_label(&fan_out.label)?,
                false,
                None,
            ),
        };
        for expression in args.expressions_mut() {
            self.visit_expr_mut(expression);
        }
        Ok(Site {
            kind,
            macro_kind,
            key,
            per_item,
            in_loop: self.loops > 0,
            in_branch: self.branches > 0,
            parent: self.parent.clone(),
            path: mac.path.clone(),
            span: mac.path.span(),
            literal_key,
            args,
        })
    }

    /// Scans the branches or the item body of the construct at `index`, whose own arguments are
    /// scanned: their sites belong to the construct, each branch or item in a scope of its own.
    /// The bodies are taken out while they are scanned, so the construct keeps its place (and its
    /// index) before the sites inside it.
    fn construct_bodies(&mut self, index: usize) {
        let mut bodies: Vec<(String, Expr)> = self.found.sites[index]
            .args
            .named_bodies_mut()
            .into_iter()
            .map(|(name, body)| {
                let body = std::mem::replace(body, Expr::Verbatim(proc_macro2::TokenStream::new()));
                (name, body)
            })
            .collect();
        // A fan-out's body runs once per item: its sites are in a loop (a fixed approval key there
        // would be read by every item); branches run once each.
        let repeated = self.found.sites[index].kind == SiteKind::FanOut;
        self.nested(repeated, |scanner| {
            for (name, body) in &mut bodies {
                let outer = scanner.parent.replace((index, std::mem::take(name)));
                scanner.visit_expr_mut(body);
                scanner.parent = outer;
            }
        });
        for (slot, (_, body)) in self.found.sites[index]
            .args
            .bodies_mut()
            .into_iter()
            .zip(bodies)
        {
            *slot = body;
        }
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

/// The marker expression standing for `slot`, located at the site's macro path.
fn marker(slot: Slot, mac: &Macro) -> Expr {
    Expr::Macro(syn::ExprMacro {
        attrs: Vec::new(),
        mac: slot.marker(mac.path.span()),
    })
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
