//! Errors in rustc's voice: each one a `compile_error!` spanned at the tokens it is about, and
//! every error of an attribute reported at once.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

#[derive(Debug)]
pub(crate) struct Error(Vec<(Span, String)>);

impl Error {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Error {
        Error(vec![(span, message.into())])
    }

    /// Adds `other`'s errors after these.
    pub(crate) fn combine(&mut self, other: Error) {
        self.0.extend(other.0);
    }

    /// One `compile_error!` per error, each at its span.
    pub(crate) fn to_compile_error(&self) -> TokenStream {
        self.0
            .iter()
            .map(|(span, message)| quote_spanned!(*span=> ::core::compile_error! { #message }))
            .collect()
    }
}

/// Collects errors into one, in the order found.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn into_result(self) -> Result<(), Error> {
        self.0.map_or(Ok(()), Err)
    }
}
