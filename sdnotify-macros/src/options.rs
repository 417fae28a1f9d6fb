//! The attribute's options: `watchdog = "…"`, `ready = "…"`, `reload = "…"`, `crate = "…"`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{ParseStream, Parser};
use syn::{Error, Ident, LitStr, Token};

use crate::signal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Watchdog {
    Auto,
    Heartbeat,
    Off,
}

/// The checked configuration one attribute asks for.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) watchdog: Watchdog,
    pub(crate) ready_auto: bool,
    /// `reload = "…"`, spelled canonically (`SIGHUP`).
    pub(crate) reload: Option<String>,
    pub(crate) crate_path: TokenStream,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            watchdog: Watchdog::Auto,
            ready_auto: true,
            reload: None,
            crate_path: quote!(::sdnotify),
        }
    }
}

const KNOWN: &str = "`watchdog`, `ready`, `reload` and `crate`";

/// Parses `key = "value", …`, collecting every error into one.
pub(crate) fn parse(args: TokenStream) -> Result<Options, Error> {
    let mut options = Options::default();
    let mut seen: Vec<String> = Vec::new();
    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let pairs = Parser::parse2(
        |input: ParseStream<'_>| {
            let mut pairs = Vec::new();
            while !input.is_empty() {
                let key: Ident = input.call(Ident::parse_any_ident)?;
                let expected = || Error::new(key.span(), format!("expected `{key} = \"…\"`"));
                input.parse::<Token![=]>().map_err(|_| expected())?;
                let value: LitStr = input.parse().map_err(|_| expected())?;
                pairs.push((key, value));
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(pairs)
        },
        args,
    )?;
    for (key, value) in pairs {
        let name = key.to_string();
        if seen.contains(&name) {
            push(Error::new(key.span(), format!("duplicate option `{name}`")));
            continue;
        }
        seen.push(name.clone());
        let text = value.value();
        match name.as_str() {
            "watchdog" => match text.as_str() {
                "auto" => options.watchdog = Watchdog::Auto,
                "heartbeat" => options.watchdog = Watchdog::Heartbeat,
                "off" => options.watchdog = Watchdog::Off,
                _ => push(Error::new(
                    value.span(),
                    format!(
                        "unknown watchdog mode `{text}`, expected `\"auto\"`, `\"heartbeat\"` or `\"off\"`"
                    ),
                )),
            },
            "ready" => match text.as_str() {
                "auto" => options.ready_auto = true,
                "manual" => options.ready_auto = false,
                _ => push(Error::new(
                    value.span(),
                    format!("unknown ready mode `{text}`, expected `\"auto\"` or `\"manual\"`"),
                )),
            },
            "reload" => match signal::canonical(&text) {
                Ok(name) => options.reload = Some(name),
                Err(message) => push(Error::new(value.span(), message)),
            },
            "crate" => match crate_path(&text, value.span()) {
                Ok(path) => options.crate_path = path,
                Err(e) => push(e),
            },
            _ => push(Error::new(
                key.span(),
                format!("unknown option `{name}`, expected one of {KNOWN}"),
            )),
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(options),
    }
}

/// `crate = "path"`: a path such as `my_sdnotify` or `::renamed::sdnotify`.
fn crate_path(text: &str, span: Span) -> Result<TokenStream, Error> {
    let well_formed = !text.is_empty()
        && text
            .trim_start_matches("::")
            .split("::")
            .all(|seg| !seg.is_empty() && seg.chars().all(|c| c == '_' || c.is_alphanumeric()));
    if !well_formed {
        return Err(Error::new(
            span,
            format!("`{text}` is not a path, expected e.g. `\"my_sdnotify\"`"),
        ));
    }
    let tokens: TokenStream = text.parse().map_err(|_| Error::new(span, "not a path"))?;
    // Give the path the string's span, so errors about it point at the option.
    Ok(tokens
        .into_iter()
        .map(|mut tt| {
            tt.set_span(span);
            tt
        })
        .collect())
}

trait ParseAny {
    fn parse_any_ident(input: ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAny for Ident {
    /// Accepts keywords too, since `crate` is one of the options.
    fn parse_any_ident(input: ParseStream<'_>) -> syn::Result<Ident> {
        input.step(|cursor| match cursor.ident() {
            Some((ident, rest)) => Ok((ident, rest)),
            None => Err(cursor.error("expected an option such as `watchdog = \"heartbeat\"`")),
        })
    }
}
