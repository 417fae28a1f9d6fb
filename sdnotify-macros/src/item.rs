//! A shallow scan of the annotated function: attributes, qualifiers, name, parameters, return
//! type and body, as tokens. The body is never parsed, which keeps the macro fast on a large
//! `main` and lets editors keep working while it is being typed.

use crate::error::Error;
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

/// The annotated function, cut into the pieces the expansion needs.
pub(crate) struct MainFn {
    /// Everything before the body: attributes, visibility, qualifiers, `fn`, name, signature.
    pub(crate) head: Vec<TokenTree>,
    pub(crate) is_async: bool,
    /// Where `async` is, for an error about it.
    pub(crate) async_span: Option<Span>,
    /// The function's name.
    pub(crate) name: Ident,
    /// Another attribute naming a `main` (`#[tokio::main]`, `#[async_std::main]`, …): an
    /// executor that runs an `async fn main`.
    pub(crate) executor: bool,
    /// The tokens after `->`, if any.
    pub(crate) ret: Option<TokenStream>,
    pub(crate) body: Group,
}

pub(crate) fn scan(item: TokenStream) -> Result<MainFn, Error> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let not_a_fn = |span: Span| {
        Error::new(
            span,
            "the `#[sdnotify::main]` attribute applies to a function, such as `fn main()`",
        )
    };
    let first_span = tokens.first().map_or_else(Span::call_site, TokenTree::span);
    let mut fn_at = None;
    let mut is_async = false;
    let mut async_span = None;
    let mut executor = false;
    for (i, tt) in tokens.iter().enumerate() {
        if let TokenTree::Group(attribute) = tt {
            let is_attribute = i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '#');
            if is_attribute && attribute.delimiter() == Delimiter::Bracket {
                executor |= names_main(attribute.stream());
            }
        }
        if let TokenTree::Ident(ident) = tt {
            if ident == "fn" {
                fn_at = Some(i);
                break;
            }
            if ident == "async" {
                is_async = true;
                async_span = Some(ident.span());
            }
            if ident == "struct" || ident == "enum" || ident == "mod" || ident == "impl" || ident == "trait" {
                return Err(not_a_fn(ident.span()));
            }
        }
    }
    let fn_at = fn_at.ok_or_else(|| not_a_fn(first_span))?;
    let Some(TokenTree::Group(body)) = tokens.last().cloned() else {
        return Err(not_a_fn(tokens.last().map_or(first_span, TokenTree::span)));
    };
    if body.delimiter() != Delimiter::Brace {
        return Err(not_a_fn(body.span()));
    }
    let name = match tokens.get(fn_at + 1) {
        Some(TokenTree::Ident(name)) => name.clone(),
        other => return Err(not_a_fn(other.map_or(first_span, TokenTree::span))),
    };
    let body_at = tokens.len() - 1;
    let params_at = (fn_at + 2..body_at)
        .find(|&i| matches!(&tokens[i], TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis))
        .ok_or_else(|| not_a_fn(name.span()))?;
    if let TokenTree::Group(params) = &tokens[params_at] {
        if !params.stream().is_empty() {
            return Err(params_error(&name, params));
        }
    }
    let ret = return_type(&tokens[params_at + 1..body_at]);
    let mut head = tokens;
    head.pop();
    Ok(MainFn {
        head,
        is_async,
        async_span,
        name,
        executor,
        ret,
        body,
    })
}

/// Whether an attribute's path ends in `main` (`tokio::main`, `main`, …), before its arguments.
fn names_main(attribute: TokenStream) -> bool {
    let path: Vec<TokenTree> = attribute
        .into_iter()
        .take_while(|tt| !matches!(tt, TokenTree::Group(_)))
        .collect();
    matches!(path.last(), Some(TokenTree::Ident(last)) if last == "main")
}

fn params_error(name: &Ident, params: &Group) -> Error {
    let message = if name == "main" {
        "`main` cannot take parameters; read arguments with `std::env::args()`".to_owned()
    } else {
        format!("the function annotated with `#[sdnotify::main]` cannot take parameters, but `{name}` does")
    };
    Error::new(params.span(), message)
}

/// The tokens between `->` and a `where` clause or the body.
fn return_type(between: &[TokenTree]) -> Option<TokenStream> {
    let arrow = between.windows(2).position(|w| {
        matches!((&w[0], &w[1]), (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == '-' && b.as_char() == '>')
    })?;
    let ty: TokenStream = between[arrow + 2..]
        .iter()
        .take_while(|tt| !matches!(tt, TokenTree::Ident(i) if i == "where"))
        .cloned()
        .collect();
    Some(ty)
}
