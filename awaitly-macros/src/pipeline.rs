//! Drives the phases: `args` → `item` → `scan` → `check` → `expand`. Never drops the user's fn: on
//! any mistake it still emits the fn (expanded as far as possible) next to the errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;
use crate::item::Validated;
use crate::scan::Mode;
use crate::{args, check, expand, item, scan};

/// The whole expansion of `#[workflow]`.
pub(crate) fn workflow(args: TokenStream, input: &TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (args, args_error) = args::parse(args);
    if let Some(error) = args_error {
        errors.push(error);
    }
    let function = match item::parse(input.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#input #error);
        }
    };
    let output = match item::validate(function, &mut errors) {
        Validated::Workflow(mut function) => {
            let scanned = scan::scan(&mut function.function.block, Mode::Check, &mut errors);
            check::duplicate_keys(&scanned.sites, &mut errors);
            check::approval_keys(&scanned.sites, &mut errors);
            expand::workflow(function, &scanned, &args)
        }
        Validated::Unexpandable(mut function) => {
            let scanned = scan::scan(&mut function.block, Mode::Silence, &mut errors);
            expand::unexpanded(&function, &scanned, &args)
        }
    };
    let errors = errors.to_compile_errors();
    quote!(#output #errors)
}
