//! The scan on its own: which sites it finds, in which order, with which keys and flags, and which
//! mistakes it reports. No code is generated here.

use quote::ToTokens;

use super::{Mode, Scanned, scan};
use crate::errors::Errors;
use crate::site::{MacroKind, SiteKind};

fn scanned(block: syn::Block, mode: Mode) -> (Scanned, Vec<String>, String) {
    let mut block = block;
    let mut errors = Errors::default();
    let found = scan(&mut block, mode, &mut errors);
    (
        found,
        errors.messages(),
        block.to_token_stream().to_string(),
    )
}

/// `(kind, key, per_item, in_loop, in_branch)` of each site.
fn summary(found: &Scanned) -> Vec<(SiteKind, &str, bool, bool, bool)> {
    found
        .sites
        .iter()
        .map(|site| {
            (
                site.kind,
                site.key.as_str(),
                site.per_item,
                site.in_loop,
                site.in_branch,
            )
        })
        .collect()
}

#[test]
fn finds_every_kind_of_site_in_source_order_with_its_key() {
    let (found, errors, body) = scanned(
        syn::parse_quote! {{
            let order = step!(create_order(&req).await)?;
            let paid = awaitly::step!(client.charge(order).await)?;
            for item in items {
                step!("ship", key = item, ship(item).await)?;
                sleep!("cool-off", key = item, Duration::from_secs(1));
            }
            if paid > 0 {
                let _: bool = await_hook!("manager", metadata = order);
            } else {
                let _: u32 = await_hook!(hook_id.clone());
            }
            let _ = await_approval!("approve:refund", reason = "big");
            Ok(())
        }},
        Mode::Check,
    );
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        summary(&found),
        [
            (SiteKind::Step, "create_order", false, false, false),
            (SiteKind::Step, "charge", false, false, false),
            (SiteKind::Step, "ship", true, true, false),
            (SiteKind::Sleep, "cool-off", true, true, false),
            (SiteKind::CreatedHook, "manager", false, false, true),
            (SiteKind::HookById, "hook_id.clone()", false, false, true),
            (
                SiteKind::Approval,
                "\"approve:refund\"",
                false,
                false,
                false
            ),
        ]
    );
    let literal = found.sites[6]
        .literal_key
        .as_ref()
        .map(|(key, _)| key.as_str());
    assert_eq!(literal, Some("approve:refund"));
    assert!(found.holes.is_empty());
    // Each site is replaced by its marker, in order; nothing else is generated.
    for index in 0..7 {
        assert!(
            body.contains(&format!("__awaitly_site_slot ! {{ {index} }}")),
            "{body}"
        );
    }
    assert!(!body.contains("__awaitly_ctx"), "{body}");
}

#[test]
fn misplaced_sites_become_holes_with_one_error_each() {
    let (found, errors, _) = scanned(
        syn::parse_quote! {{
            let f = || step!("in-closure", load());
            let g = async { sleep!("nap", d) };
            step!("outer", wrap(step!("inner", load())))?;
            println!("{}", step!("in-macro", load())?);
            fn nested() { step!("not-scanned", load()) }
            Ok(())
        }},
        Mode::Check,
    );
    assert_eq!(
        errors,
        [
            "`step!` cannot be used inside a closure: a closure may run zero or many times, so its key cannot be replayed; move it to the workflow body",
            "`sleep!` cannot be used inside an `async` block: it may run concurrently or not at all, so its key cannot be replayed; move it to the workflow body",
            "`step!` cannot be used inside the arguments of another `step!`; bind the inner result to a variable first",
            "`step!` cannot be used inside the arguments of `println!`; bind its result to a variable before `println!`",
        ]
    );
    assert_eq!(
        summary(&found),
        [(SiteKind::Step, "outer", false, false, false)]
    );
    let holes: Vec<MacroKind> = found.holes.iter().map(|hole| hole.kind).collect();
    assert_eq!(
        holes,
        [
            MacroKind::Step,
            MacroKind::Sleep,
            MacroKind::Step,
            MacroKind::Step
        ]
    );
}

#[test]
fn argument_and_key_mistakes_are_reported_at_the_site() {
    let (found, errors, _) = scanned(
        syn::parse_quote! {{
            step!(Ok::<u8, String>(1))?;
            step!("a#1", load())?;
            step!("load", retries = 3, load())?;
            let _ = await_approval!("hook:x");
            Ok(())
        }},
        Mode::Check,
    );
    assert_eq!(
        errors,
        [
            "cannot derive a key for this `step!`: it does not call a named function or method; give it a label: `step!(\"name\", expression)`",
            "a label cannot contain `#`: `#`, `[` and `]` are reserved for per-item keys and occurrence suffixes",
            "unknown `step!` option `retries`; expected one of `key = …`, `retry = …`, `timeout = …`, `rerun_failed = …`, `compensate = …`",
            "an approval key cannot start with `hook:`, the prefix of hook payload keys",
        ]
    );
    assert!(found.sites.is_empty());
    assert_eq!(found.holes.len(), 4);
    // The misnamed option's value is kept, so the variables it names stay used.
    assert_eq!(found.holes[2].uses.len(), 2);
    assert!(found.holes[2].body.is_some());
}

#[test]
fn silence_mode_makes_every_site_a_hole_without_errors() {
    let (found, errors, body) = scanned(
        syn::parse_quote! {{
            let a = step!(load().await)?;
            let f = || step!("x", load());
            vec![sleep!("nap", d)];
            Ok(a)
        }},
        Mode::Silence,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(found.sites.is_empty());
    assert_eq!(found.holes.len(), 3);
    assert!(!body.contains("__awaitly_site_slot"), "{body}");
}

#[test]
fn nested_items_and_other_macros_are_left_as_written() {
    let (found, errors, body) = scanned(
        syn::parse_quote! {{
            fn helper() -> u8 { step!("inner", load()) }
            macro_rules! twice { ($e:expr) => { $e; $e } }
            let v = vec![1, 2, 3];
            Ok(v)
        }},
        Mode::Check,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(found.sites.is_empty() && found.holes.is_empty());
    assert!(body.contains("step ! (\"inner\" , load ())"), "{body}");
}
