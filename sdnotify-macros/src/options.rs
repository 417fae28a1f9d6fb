//! The attribute's options: `watchdog = "…"`, `ready = "…"`, `reload = "…"`, `crate = "…"`.

use proc_macro2::{Ident, Literal, Span, TokenStream, TokenTree};
use quote::quote;

use crate::error::{Error, Errors};
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
    let mut errors = Errors::default();
    for (key, value, span) in pairs(args)? {
        let name = key.to_string();
        if seen.contains(&name) {
            errors.push(Error::new(key.span(), format!("duplicate option `{name}`")));
            continue;
        }
        seen.push(name.clone());
        let text = value;
        match name.as_str() {
            "watchdog" => match text.as_str() {
                "auto" => options.watchdog = Watchdog::Auto,
                "heartbeat" => options.watchdog = Watchdog::Heartbeat,
                "off" => options.watchdog = Watchdog::Off,
                _ => errors.push(Error::new(
                    span,
                    format!(
                        "unknown watchdog mode `{text}`, expected `\"auto\"`, `\"heartbeat\"` or `\"off\"`"
                    ),
                )),
            },
            "ready" => match text.as_str() {
                "auto" => options.ready_auto = true,
                "manual" => options.ready_auto = false,
                _ => errors.push(Error::new(
                    span,
                    format!("unknown ready mode `{text}`, expected `\"auto\"` or `\"manual\"`"),
                )),
            },
            "reload" => match signal::canonical(&text) {
                Ok(name) => options.reload = Some(name),
                Err(message) => errors.push(Error::new(span, message)),
            },
            "crate" => match crate_path(&text, span) {
                Ok(path) => options.crate_path = path,
                Err(e) => errors.push(e),
            },
            _ => errors.push(Error::new(
                key.span(),
                format!("unknown option `{name}`, expected one of {KNOWN}"),
            )),
        }
    }
    errors.into_result().map(|()| options)
}

/// The `key = "value"` pairs, comma-separated (a trailing comma allowed), with each value's
/// text and span; the first thing that is not of that form is the error.
fn pairs(args: TokenStream) -> Result<Vec<(Ident, String, Span)>, Error> {
    let mut tokens = args.into_iter().peekable();
    let mut pairs = Vec::new();
    while let Some(token) = tokens.next() {
        // Any identifier, keywords too: `crate` is one of the options.
        let TokenTree::Ident(key) = token else {
            return Err(Error::new(
                token.span(),
                "expected an option such as `watchdog = \"heartbeat\"`",
            ));
        };
        let expected = || Error::new(key.span(), format!("expected `{key} = \"…\"`"));
        match tokens.next() {
            Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => {}
            _ => return Err(expected()),
        }
        let value = match tokens.next() {
            Some(TokenTree::Literal(literal)) => string_value(&literal).map(|text| (text, literal.span())),
            _ => None,
        };
        let (text, span) = value.ok_or_else(expected)?;
        pairs.push((key, text, span));
        match tokens.next() {
            None => break,
            Some(TokenTree::Punct(comma)) if comma.as_char() == ',' => {}
            Some(other) => return Err(Error::new(other.span(), "expected `,`")),
        }
    }
    Ok(pairs)
}

/// The text of a string literal (`"…"` with its escapes, or raw `r#"…"#`); `None` for any
/// other literal.
fn string_value(literal: &Literal) -> Option<String> {
    let repr = literal.to_string();
    if let Some(raw) = repr.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let inner = raw.get(hashes..raw.len().checked_sub(hashes)?)?;
        return inner.strip_prefix('"')?.strip_suffix('"').map(str::to_owned);
    }
    let inner = repr.strip_prefix('"')?.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next()? {
            'n' => text.push('\n'),
            'r' => text.push('\r'),
            't' => text.push('\t'),
            '0' => text.push('\0'),
            '\\' => text.push('\\'),
            '"' => text.push('"'),
            '\'' => text.push('\''),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                text.push(char::from(
                    u8::from_str_radix(&hex, 16).ok().filter(u8::is_ascii)?,
                ));
            }
            'u' => {
                let rest = chars.as_str();
                let close = rest.find('}')?;
                let code = u32::from_str_radix(rest.get(1..close)?.replace('_', "").as_str(), 16).ok()?;
                text.push(char::from_u32(code)?);
                chars = rest[close + 1..].chars();
            }
            // A line continuation: the line break and the next line's leading space go.
            '\n' => chars = chars.as_str().trim_start().chars(),
            _ => return None,
        }
    }
    Some(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn value(source: &str) -> Option<String> {
        let literal: Literal = source.parse().unwrap();
        string_value(&literal)
    }

    #[test]
    fn string_literals_read_as_rustc_reads_them() {
        assert_eq!(value(r#""SIGHUP""#).as_deref(), Some("SIGHUP"));
        assert_eq!(value(r#""a\"b\\c\x41\u{42}""#).as_deref(), Some("a\"b\\cAB"));
        assert_eq!(value(r###"r#"raw"#"###).as_deref(), Some("raw"));
        assert_eq!(
            value(
                r#""line \
            continued""#
            )
            .as_deref(),
            Some("line continued")
        );
        assert_eq!(value("42"), None);
        assert_eq!(value(r#"b"bytes""#), None);
        assert_eq!(value(r#""suffix"x"#), None);
    }

    #[test]
    fn options_parse_and_errors_name_the_option() {
        let parsed = parse(
            r#"watchdog = "heartbeat", reload = "USR1", crate = "::x::y","#
                .parse()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(parsed.watchdog, Watchdog::Heartbeat);
        assert_eq!(parsed.reload.as_deref(), Some("SIGUSR1"));
        assert_eq!(parsed.crate_path.to_string(), ":: x :: y");
        let err = |src: &str| format!("{:?}", parse(src.parse().unwrap()).unwrap_err());
        assert!(
            err("watchdog").contains("expected `watchdog = \\\"…\\\"`"),
            "{}",
            err("watchdog")
        );
        assert!(err(r#"watchdog = "auto" ready = "auto""#).contains("expected `,`"));
        assert!(err(r#"watchdog = 3"#).contains("expected `watchdog"));
        assert!(err(r#"a = "1", b = "2""#).contains("unknown option `b`"));
    }
}
