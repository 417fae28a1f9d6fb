//! The `#[sdnotify::main]` attribute. Use it through the `sdnotify` crate, which documents it;
//! this crate is an implementation detail and its paths are not stable.

use proc_macro::TokenStream;

mod error;
mod expand;
mod item;
mod options;
mod signal;

/// Makes `main` a correct systemd service; documented in the `sdnotify` crate.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}
