//! Checks across sites, on the keys the scan derived: two sites with one key would replay each
//! other's outcomes.

use crate::errors::Errors;
use crate::site::Site;

/// Two sites with one static key: an error at the second, pointing back at the first.
pub(crate) fn duplicate_keys(sites: &[Site], errors: &mut Errors) {
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
pub(crate) fn approval_keys(sites: &[Site], errors: &mut Errors) {
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

#[cfg(test)]
mod tests {
    use crate::errors::Errors;
    use crate::scan::{Mode, scan};

    fn check(block: syn::Block) -> Vec<String> {
        let mut block = block;
        let mut errors = Errors::default();
        let sites = scan(&mut block, Mode::Check, &mut errors).sites;
        super::duplicate_keys(&sites, &mut errors);
        super::approval_keys(&sites, &mut errors);
        errors.messages()
    }

    #[test]
    fn same_keys_of_the_same_shape_collide() {
        let errors = check(syn::parse_quote! {{
            step!(charge(1).await)?;
            sleep!("charge", d);
            step!("ship", key = item, ship().await)?;
            step!("ship", ship().await)?;
            let _: u8 = await_hook!(id);
            let _: u8 = await_hook!(id);
        }});
        assert_eq!(
            errors,
            [
                "duplicate key `charge`: another site of this workflow already uses it, so they would replay each other's outcomes; give one of them a distinct label"
            ]
        );
    }

    #[test]
    fn literal_approval_keys_must_be_their_own() {
        let errors = check(syn::parse_quote! {{
            step!("refund", refund().await)?;
            let _ = await_approval!("refund");
            let _ = await_approval!("approve");
            let _ = await_approval!("approve");
            loop { let _ = await_approval!("in-loop"); }
        }});
        assert_eq!(
            errors,
            [
                "approval key `refund` is also the key of a `step!` of this workflow, so they would read each other's entries; give the approval a key of its own, e.g. `\"approve:refund\"`",
                "approval key `approve` is already used by another `await_approval!` of this workflow, so both would read the same decision; give each approval a key of its own",
                "`await_approval!` with the fixed key `in-loop` cannot sit in a loop: every iteration would read the first one's decision; build the key from the iteration, e.g. `format!(\"in-loop:{id}\")`",
            ]
        );
    }
}
