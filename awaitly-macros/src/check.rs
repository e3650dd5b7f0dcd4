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
