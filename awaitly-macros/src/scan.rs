//! Walks the fn body, finds every `step!` / `await_hook!` site in source order, checks where it
//! stands, and rewrites it in place (with [`crate::expand`]'s glue, or with its compile error).
//!
//! Scope rules: sites may sit anywhere in the body's own statements and expressions, including
//! loops and branches. They may not sit inside closures or `async` blocks (which may run zero or
//! many times, or concurrently), inside another site's arguments, or inside other macros' arguments
//! (which `#[workflow]` cannot parse); each such site gets its own error, and a well-typed hole in
//! its place so that the error does not cascade. Nested items
//! (`fn`, `impl`, `mod`, `macro_rules!` …) are not entered: a site there reaches the `step!` /
//! `await_hook!` macro itself, whose error says it only works inside a `#[workflow]` fn.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Macro, MacroDelimiter, Stmt, Token};

use crate::errors::Errors;
use crate::expand;
use crate::key;
use crate::site::{self, HookArgs, HookTarget, MacroKind, StepArgs};

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

/// Replaces every site of `block` with a hole, for a fn that cannot be expanded: the user then sees
/// the one error about the fn, not one more per site.
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
        let index = self.sites.len();
        self.enclosing.push(Enclosing::Site(kind));
        let glue = match kind {
            MacroKind::Step => self.step(mac, index, span, krate),
            MacroKind::AwaitHook => self.hook(mac, index, span, krate),
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

    /// A stand-in for a site whose error is already recorded: it keeps the site's expressions and
    /// type, so the code around it type-checks as if the site were right and the user sees that
    /// one error, with no cascade (`?` on `!`, unused variables, unreachable code). Sites nested in
    /// its arguments are silenced: they belong to the same mistake.
    fn hole(&mut self, mac: &Macro, kind: MacroKind) -> Expr {
        let span = Span::mixed_site().located_at(mac.path.span());
        let krate = self.krate.take();
        let tokens = match kind {
            MacroKind::Step => self.step_hole(mac, span),
            MacroKind::AwaitHook => self.hook_hole(mac, span),
        };
        self.krate = krate;
        syn::parse2(wrap(mac, &tokens)).unwrap_or_else(|_| placeholder(span))
    }

    /// A step's hole has the type of its expression, which is kept but never run.
    fn step_hole(&mut self, mac: &Macro, span: Span) -> TokenStream {
        let (uses, body) = if let Ok(args) = mac.parse_body::<StepArgs>() {
            (args.item.into_iter().collect(), Some(args.body))
        } else {
            let salvage = salvage(&mac.tokens);
            (salvage.expressions, salvage.body)
        };
        let uses = self.uses(uses, span);
        let Some(mut body) = body else {
            let placeholder = placeholder(span);
            return quote_spanned! {span=> { #(#uses)* #placeholder } };
        };
        self.visit_expr_mut(&mut body);
        let hole = Ident::new("__awaitly_hole", span);
        quote_spanned! {span=> {
            fn #hole<F: ::core::future::IntoFuture>(_: F) -> F::Output {
                ::core::unreachable!()
            }
            #hole(async { #(#uses)* #body })
        }}
    }

    /// A hook's hole has the payload type the context infers; its expressions are kept.
    fn hook_hole(&mut self, mac: &Macro, span: Span) -> TokenStream {
        let expressions = match mac.parse_body::<HookArgs>() {
            Ok(args) => {
                let id = match args.target {
                    HookTarget::Id(id) => Some(*id),
                    HookTarget::Label(_) => None,
                };
                id.into_iter()
                    .chain(args.item)
                    .chain(args.metadata)
                    .collect()
            }
            Err(_) => salvage(&mac.tokens).expressions,
        };
        let uses = self.uses(expressions, span);
        let hole = Ident::new("__awaitly_hole", span);
        quote_spanned! {span=> {
            fn #hole<T>() -> T {
                ::core::unreachable!()
            }
            #(#uses)*
            #hole()
        }}
    }

    /// `let _ = &(expression);` for each expression a hole keeps, so the variables it names are used.
    fn uses(&mut self, expressions: Vec<Expr>, span: Span) -> Vec<TokenStream> {
        expressions
            .into_iter()
            .map(|mut expression| {
                self.visit_expr_mut(&mut expression);
                quote_spanned! {span=> let _ = &(#expression); }
            })
            .collect()
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

    /// Finds sites inside another macro's tokens and replaces each with a hole and its error.
    fn foreign(&mut self, mac: &mut Macro) {
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
        let mut trees = tokens.into_iter();
        while let Some(tree) = trees.next() {
            match tree {
                TokenTree::Ident(ident) => {
                    let kind = MacroKind::of_name(&ident.to_string());
                    let mut ahead = trees.clone();
                    let invocation = match (ahead.next(), ahead.next()) {
                        (Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group)))
                            if bang.as_char() == '!' =>
                        {
                            Some((bang.span(), group))
                        }
                        _ => None,
                    };
                    match (kind, invocation) {
                        (Some(kind), Some((bang, group))) => {
                            trees = ahead;
                            if self.krate.is_some() {
                                self.errors.push(syn::Error::new(
                                    ident.span(),
                                    format_args!(
                                        "`{}!` cannot be used inside the arguments of `{outer}!`; bind its result to a variable before `{outer}!`",
                                        kind.name()
                                    ),
                                ));
                            }
                            let mac = Macro {
                                path: ident.into(),
                                bang_token: Token![!](bang),
                                delimiter: delimiter_of(&group),
                                tokens: group.stream(),
                            };
                            output.extend(self.hole(&mac, kind).into_token_stream());
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

/// What can be recovered from a site whose arguments do not parse: every expression found in them
/// (after an optional `name =`), and, for a `step!`, the expression it records: the last one, if it
/// is neither an option's value nor a string literal (a label).
struct Salvage {
    expressions: Vec<Expr>,
    body: Option<Expr>,
}

fn salvage(tokens: &TokenStream) -> Salvage {
    let parser = |input: ParseStream<'_>| {
        let mut found = Vec::new();
        while !input.is_empty() {
            let option = site::peek_option(input).is_some();
            if option {
                input.parse::<Ident>()?;
                input.parse::<Token![=]>()?;
            }
            if let Ok(expr) = input.parse::<Expr>() {
                found.push((option, expr));
            } else if !input.is_empty() {
                input.parse::<TokenTree>()?;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(found)
    };
    let mut found = parser.parse2(tokens.clone()).unwrap_or_default();
    let body = match found.last() {
        Some((false, expr)) if !matches!(expr, Expr::Lit(literal) if matches!(literal.lit, syn::Lit::Str(_))) => {
            found.pop().map(|(_, body)| body)
        }
        _ => None,
    };
    Salvage {
        expressions: found.into_iter().map(|(_, expr)| expr).collect(),
        body,
    }
}

fn delimiter_of(group: &Group) -> MacroDelimiter {
    let span = group.delim_span();
    match group.delimiter() {
        Delimiter::Brace => MacroDelimiter::Brace(syn::token::Brace(span)),
        Delimiter::Bracket => MacroDelimiter::Bracket(syn::token::Bracket(span)),
        _ => MacroDelimiter::Paren(syn::token::Paren(span)),
    }
}

/// A diverging expression standing in for a site when nothing better can be built.
fn placeholder(span: Span) -> Expr {
    syn::parse_quote_spanned! {span=> ::core::unreachable!() }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};

    use super::salvage;

    fn text(tokens: &impl ToTokens) -> String {
        tokens.to_token_stream().to_string()
    }

    #[test]
    fn salvage_recovers_the_expressions_of_arguments_that_do_not_parse() {
        let cases: [(TokenStream, Option<&str>, &[&str]); 6] = [
            (
                quote!("load", retries = 3, load().await),
                Some("load () . await"),
                &["\"load\"", "3"],
            ),
            (
                quote!(key = item, charge(item).await),
                Some("charge (item) . await"),
                &["item"],
            ),
            (
                quote!("charge", key = item charge(item).await),
                Some("charge (item) . await"),
                &["\"charge\"", "item"],
            ),
            (
                quote!(Ok::<u8, String>(1), extra),
                Some("extra"),
                &["Ok :: < u8 , String > (1)"],
            ),
            (quote!("charge", key = item), None, &["\"charge\"", "item"]),
            (quote!("load",), None, &["\"load\""]),
        ];
        for (tokens, body, expressions) in cases {
            let found = salvage(&tokens);
            assert_eq!(found.body.as_ref().map(text).as_deref(), body, "{tokens}");
            let found: Vec<String> = found.expressions.iter().map(text).collect();
            assert_eq!(found, expressions, "{tokens}");
        }
    }
}
