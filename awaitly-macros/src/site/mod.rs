//! The sites `#[workflow]` rewrites: which macros they are, the grammar of their arguments
//! ([`grammar`]), and what the scan records about each one ([`Site`], or a [`Hole`] for one whose
//! mistake is already reported).
//!
//! ```text
//! step!([ "label" , ] { option = value , } expression)     options: key, retry, timeout, rerun_failed, compensate
//! await_hook!(hook_id | "label" { , option = value })       options: key (after a label), metadata, timeout
//! await_approval!(key { , option = value })                 options: reason, metadata, timeout
//! sleep!("label" [ , key = item ] , duration)
//! all!("label", name => expression, …)                      also try_all!, race! (see construct)
//! fan_out!("label", item in items, { option = value , } expression)   also try_fan_out!
//! child!("label", workflow, input)
//! ```
//!
//! The scan leaves a [`Slot`] marker where each site stood; the expansion fills it with code.

mod construct;
mod grammar;

use proc_macro2::{Ident, Span, TokenTree};
use syn::{Expr, Macro};

pub(crate) use construct::{BranchesArgs, ChildArgs, FanOutArgs};
pub(crate) use grammar::{ApprovalArgs, HookArgs, HookTarget, SleepArgs, StepArgs, peek_option};

/// The macro names `#[workflow]` rewrites, matched on the last path segment.
pub(crate) const STEP: &str = "step";
pub(crate) const AWAIT_HOOK: &str = "await_hook";
pub(crate) const AWAIT_APPROVAL: &str = "await_approval";
pub(crate) const SLEEP: &str = "sleep";
pub(crate) const ALL: &str = "all";
pub(crate) const TRY_ALL: &str = "try_all";
pub(crate) const RACE: &str = "race";
pub(crate) const FAN_OUT: &str = "fan_out";
pub(crate) const TRY_FAN_OUT: &str = "try_fan_out";
pub(crate) const CHILD: &str = "child";

/// Option names inside a site's arguments.
pub(crate) const KEY: &str = "key";
pub(crate) const METADATA: &str = "metadata";
pub(crate) const TIMEOUT: &str = "timeout";
pub(crate) const RETRY: &str = "retry";
pub(crate) const RERUN_FAILED: &str = "rerun_failed";
pub(crate) const REASON: &str = "reason";
pub(crate) const CONCURRENCY: &str = "concurrency";
pub(crate) const COMPENSATE: &str = "compensate";

/// Which of the macros a site invokes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MacroKind {
    Step,
    AwaitHook,
    AwaitApproval,
    Sleep,
    All,
    TryAll,
    Race,
    FanOut,
    TryFanOut,
    Child,
}

impl MacroKind {
    /// The kind a macro path names, by its last segment (`step`, `awaitly::step`).
    pub(crate) fn of(path: &syn::Path) -> Option<Self> {
        let last = path.segments.last()?;
        if !last.arguments.is_none() {
            return None;
        }
        Self::of_name(&last.ident.to_string())
    }

    pub(crate) fn of_name(name: &str) -> Option<Self> {
        match name {
            STEP => Some(Self::Step),
            AWAIT_HOOK => Some(Self::AwaitHook),
            AWAIT_APPROVAL => Some(Self::AwaitApproval),
            SLEEP => Some(Self::Sleep),
            ALL => Some(Self::All),
            TRY_ALL => Some(Self::TryAll),
            RACE => Some(Self::Race),
            FAN_OUT => Some(Self::FanOut),
            TRY_FAN_OUT => Some(Self::TryFanOut),
            CHILD => Some(Self::Child),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Step => STEP,
            Self::AwaitHook => AWAIT_HOOK,
            Self::AwaitApproval => AWAIT_APPROVAL,
            Self::Sleep => SLEEP,
            Self::All => ALL,
            Self::TryAll => TRY_ALL,
            Self::Race => RACE,
            Self::FanOut => FAN_OUT,
            Self::TryFanOut => TRY_FAN_OUT,
            Self::Child => CHILD,
        }
    }
}

/// Runtime kind of a site, as the workflow's description names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SiteKind {
    Step,
    HookById,
    CreatedHook,
    Approval,
    Sleep,
    Parallel,
    FanOut,
    Race,
    Child,
}

impl SiteKind {
    /// How diagnostics name the kind.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Step => "`step!`",
            Self::HookById | Self::CreatedHook => "`await_hook!`",
            Self::Approval => "`await_approval!`",
            Self::Sleep => "`sleep!`",
            Self::Parallel => "`all!`",
            Self::FanOut => "`fan_out!`",
            Self::Race => "`race!`",
            Self::Child => "`child!`",
        }
    }

    /// The name of the runtime's `SiteKind` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Step => "Step",
            Self::HookById => "HookById",
            Self::CreatedHook => "CreatedHook",
            Self::Approval => "Approval",
            Self::Sleep => "Sleep",
            Self::Parallel => "Parallel",
            Self::FanOut => "FanOut",
            Self::Race => "Race",
            Self::Child => "Child",
        }
    }
}

/// The parsed arguments of one site.
pub(crate) enum SiteArgs {
    Step(StepArgs),
    Hook(HookArgs),
    Approval(ApprovalArgs),
    Sleep(SleepArgs),
    /// `all!`, `try_all!`, `race!`.
    Branches(BranchesArgs),
    /// `fan_out!`, `try_fan_out!` (boxed: a pattern and three expressions).
    FanOut(Box<FanOutArgs>),
    /// `child!`.
    Child(ChildArgs),
}

impl SiteArgs {
    /// Parses the arguments of a `kind!` invocation.
    pub(crate) fn parse(kind: MacroKind, mac: &Macro) -> syn::Result<Self> {
        Ok(match kind {
            MacroKind::Step => Self::Step(mac.parse_body()?),
            MacroKind::AwaitHook => Self::Hook(mac.parse_body()?),
            MacroKind::AwaitApproval => Self::Approval(mac.parse_body()?),
            MacroKind::Sleep => Self::Sleep(mac.parse_body()?),
            MacroKind::All | MacroKind::TryAll | MacroKind::Race => {
                Self::Branches(mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                    BranchesArgs::parse_for(kind, input)
                })?)
            }
            MacroKind::Child => Self::Child(mac.parse_body()?),
            MacroKind::FanOut | MacroKind::TryFanOut => {
                Self::FanOut(Box::new(mac.parse_body_with(
                    |input: syn::parse::ParseStream<'_>| FanOutArgs::parse_for(kind, input),
                )?))
            }
        })
    }

    /// Every user expression in the arguments, in source order.
    pub(crate) fn expressions_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Self::Step(args) => args
                .options
                .values_mut()
                .chain(std::iter::once(&mut args.body))
                .collect(),
            Self::Hook(args) => {
                let id = match &mut args.target {
                    HookTarget::Id(id) => Some(&mut **id),
                    HookTarget::Label(_) => None,
                };
                id.into_iter().chain(args.options.values_mut()).collect()
            }
            Self::Approval(args) => std::iter::once(&mut args.key)
                .chain(args.options.values_mut())
                .collect(),
            Self::Sleep(args) => args
                .item
                .iter_mut()
                .chain(std::iter::once(&mut args.duration))
                .collect(),
            Self::Branches(_) => Vec::new(),
            Self::Child(args) => vec![&mut args.workflow, &mut args.input],
            Self::FanOut(args) => std::iter::once(&mut args.items)
                .chain(args.options.values_mut())
                .collect(),
        }
    }

    /// The bodies of a construct's branches or items: they hold sites of their own.
    pub(crate) fn bodies_mut(&mut self) -> Vec<&mut Expr> {
        self.named_bodies_mut()
            .into_iter()
            .map(|(_, body)| body)
            .collect()
    }

    /// [`bodies_mut`](Self::bodies_mut) with each body's branch name (empty for a fan-out's body).
    pub(crate) fn named_bodies_mut(&mut self) -> Vec<(String, &mut Expr)> {
        match self {
            Self::Branches(args) => args
                .branches
                .iter_mut()
                .map(|(name, body)| (name.to_string(), body))
                .collect(),
            Self::FanOut(args) => vec![(String::new(), &mut args.body)],
            _ => Vec::new(),
        }
    }
}

/// A site found in the body, in source order, with its key.
pub(crate) struct Site {
    pub(crate) kind: SiteKind,
    /// The macro the site invokes (`all!` and `try_all!` are both [`SiteKind::Parallel`]).
    pub(crate) macro_kind: MacroKind,
    /// The label or derived name (for a hook by id or an approval: the key expression's text).
    pub(crate) key: String,
    /// The key has a per-item part (`key = item`).
    pub(crate) per_item: bool,
    pub(crate) in_loop: bool,
    pub(crate) in_branch: bool,
    /// The construct whose branch or item body the site sits in (its index among the sites), and
    /// the branch's name (empty in a fan-out's item body): what diagrams draw as the fork.
    pub(crate) parent: Option<(usize, String)>,
    /// The macro path as the user wrote it (`step`, `awaitly::step`).
    pub(crate) path: syn::Path,
    /// The path's span: where diagnostics about the site point.
    pub(crate) span: Span,
    /// An approval's key when it is a string literal, with the literal's span: checked at compile
    /// time against the other sites' keys.
    pub(crate) literal_key: Option<(String, Span)>,
    pub(crate) args: SiteArgs,
}

impl Site {
    /// Sites whose keys are fixed at compile time, and so can collide.
    pub(crate) fn has_static_key(&self) -> bool {
        !matches!(self.kind, SiteKind::HookById | SiteKind::Approval)
    }

    /// Does the site run parts of the body at once?
    pub(crate) fn is_construct(&self) -> bool {
        matches!(
            self.kind,
            SiteKind::Parallel | SiteKind::FanOut | SiteKind::Race
        )
    }
}

/// A site whose mistake is already reported (or that sits inside one): the expansion puts a
/// well-typed stand-in there, so the code around it raises no errors of its own.
pub(crate) struct Hole {
    pub(crate) kind: MacroKind,
    /// The macro path as the user wrote it.
    pub(crate) path: syn::Path,
    /// The expressions found in the arguments, kept so the variables they name stay used.
    pub(crate) uses: Vec<Expr>,
    /// A `step!`'s expression, which gives its hole its type, when one could be found.
    pub(crate) body: Option<Expr>,
}

/// Where a site stood in the body: the `n`th [`Site`] or [`Hole`] of the scan.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Slot {
    Site(usize),
    Hole(usize),
}

/// The markers' macro names; reserved (`__awaitly_` prefix), so no user code writes them.
const SITE_MARKER: &str = "__awaitly_site_slot";
const HOLE_MARKER: &str = "__awaitly_hole_slot";

impl Slot {
    /// The marker the scan leaves in the body: `__awaitly_site_slot! { n }`, brace-delimited like
    /// the code that replaces it, so both print alike in any position.
    pub(crate) fn marker(self, span: Span) -> Macro {
        let (name, index) = match self {
            Self::Site(index) => (SITE_MARKER, index),
            Self::Hole(index) => (HOLE_MARKER, index),
        };
        let name = Ident::new(name, span);
        let index = proc_macro2::Literal::usize_unsuffixed(index);
        syn::parse_quote_spanned! {span=> #name! { #index } }
    }

    /// The slot a marker's three tokens (`name`, `!`, `{ n }`) stand for.
    pub(crate) fn of_marker(name: &TokenTree, bang: &TokenTree, body: &TokenTree) -> Option<Self> {
        let (TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(body)) =
            (name, bang, body)
        else {
            return None;
        };
        if bang.as_char() != '!' || body.delimiter() != proc_macro2::Delimiter::Brace {
            return None;
        }
        let index: usize = body.stream().to_string().parse().ok()?;
        if name == SITE_MARKER {
            Some(Self::Site(index))
        } else if name == HOLE_MARKER {
            Some(Self::Hole(index))
        } else {
            None
        }
    }
}
