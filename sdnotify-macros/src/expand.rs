//! The expansion of `#[sdnotify::main]`: the user's function with its body wrapped.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

use crate::error::Error;
use crate::item::{self, MainFn};
use crate::options::{self, Options, Watchdog};

pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let options = options::parse(args).unwrap_or_else(|e| {
        push(e);
        Options::default()
    });
    let func = match item::scan(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            push(e);
            // Not a function we can wrap: give it back untouched beside the error.
            let errors = errors.map(|e| e.to_compile_error());
            return quote!(#errors #item);
        }
    };
    if let (true, Some(span), false) = (func.is_async, func.async_span, func.executor) {
        if func.name == "main" {
            push(Error::new(
                span,
                "`#[sdnotify::main]` on `async fn main` needs an executor to run it: add \
                 `#[tokio::main]` (or your executor's attribute) below `#[sdnotify::main]`",
            ));
        }
    }
    if options.reload.is_none() {
        if let Some((span, name)) = reload_api_use(&func.body.stream(), &options.crate_path) {
            push(Error::new(
                span,
                format!(
                    "`{name}()` without a reload signal: no reload request can come; add the \
                     option, e.g. `#[sdnotify::main(reload = \"SIGHUP\")]`"
                ),
            ));
        }
    }
    let mut inits = Vec::new();
    let mut in_closures = Vec::new();
    let body = rewrite_init(
        func.body.stream(),
        &options.crate_path,
        &mut inits,
        &mut in_closures,
    );
    for span in inits.iter().skip(1) {
        push(Error::new(
            *span,
            "a second `init!` section: `#[sdnotify::main]` sends READY=1 after the one start-up section",
        ));
    }
    for span in in_closures {
        push(Error::new(
            span,
            "`init!` inside a closure (or after `||`): the start-up section must run exactly once, as a statement of `main`",
        ));
    }
    if let (false, Some(span)) = (options.ready_auto, inits.first()) {
        push(Error::new(
            *span,
            "`init!` with `ready = \"manual\"`: READY=1 is sent where the program calls `sdnotify::ready()`; remove the `init!` section or the option",
        ));
    }
    let body = Group::new(Delimiter::Brace, body);
    match errors {
        // Keep the function (with `init!` resolvable) so the editor still understands it.
        Some(errors) => {
            let errors = errors.to_compile_error();
            let head = &func.head;
            quote!(#errors #(#head)* #body)
        }
        None => wrap(&func, body, &options, !inits.is_empty()),
    }
}

/// The function with its body run inside the start/finish calls of a guard.
fn wrap(func: &MainFn, body: Group, options: &Options, has_init: bool) -> TokenStream {
    let krate = &options.crate_path;
    let head = &func.head;
    let watchdog = match options.watchdog {
        Watchdog::Auto => quote!(Auto),
        Watchdog::Heartbeat => quote!(Heartbeat),
        Watchdog::Off => quote!(Off),
    };
    let ready_auto = options.ready_auto;
    let reload = match &options.reload {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let ret = func.ret.clone().unwrap_or_else(|| quote!(()));
    let span = body.span();
    let run = if func.is_async {
        quote_spanned!(span=> #krate::__private::typed_future::<#ret, _>(async move #body).await)
    } else {
        quote_spanned!(span=> (move || -> #ret #body)())
    };
    quote! {
        #(#head)* {
            let __sdnotify_guard = #krate::__private::Guard::start(#krate::__private::Config {
                watchdog: #krate::__private::WatchdogMode::#watchdog,
                ready_auto: #ready_auto,
                has_init: #has_init,
                panic_aborts: cfg!(panic = "abort"),
                reload: #reload,
            });
            #[allow(clippy::redundant_closure_call, clippy::unused_unit)]
            let __sdnotify_result = #run;
            // The most specific description of what failed, chosen by the return type.
            #[allow(clippy::needless_borrow)]
            let __sdnotify_failure = {
                #[allow(unused_imports)]
                use #krate::__private::failure::{ViaDebug as _, ViaDisplay as _, ViaIoError as _, ViaNothing as _};
                (&&&&#krate::__private::failure::Outcome(&__sdnotify_result)).failure()
            };
            __sdnotify_guard.finish(__sdnotify_failure);
            __sdnotify_result
        }
    }
}

/// Replaces each `init! { … }` (bare, or through a path ending in the crate's name) with the
/// hidden macro that works only here, and records where each one was.
fn rewrite_init(
    tokens: TokenStream,
    krate: &TokenStream,
    found: &mut Vec<Span>,
    in_closures: &mut Vec<Span>,
) -> TokenStream {
    let crate_name = crate_name(krate);
    let mut scanner = Scanner {
        krate,
        crate_name,
        found,
        in_closures,
    };
    match scanner.rewrite(tokens.clone()) {
        Some(rewritten) => rewritten,
        None => tokens,
    }
}

struct Scanner<'a> {
    krate: &'a TokenStream,
    crate_name: String,
    found: &'a mut Vec<Span>,
    /// `init!` found in a closure's body (a `|` earlier in its statement).
    in_closures: &'a mut Vec<Span>,
}

impl Scanner<'_> {
    /// The rewritten stream, or `None` when it holds no `init!` (the caller keeps the original,
    /// so a large body without one is walked but never rebuilt).
    fn rewrite(&mut self, tokens: TokenStream) -> Option<TokenStream> {
        let input: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out: Vec<TokenTree> = Vec::new();
        let mut changed = false;
        let mut i = 0;
        while i < input.len() {
            match &input[i] {
                // Comparing an identifier's text costs a round trip to the compiler, so only
                // macro invocations (`name!` and a group, cheap to check) are compared.
                TokenTree::Ident(ident) if is_invocation(&input[i + 1..]) && ident == "init" => {
                    if !changed {
                        out.extend_from_slice(&input[..i]);
                        changed = true;
                    }
                    if let Some(path_len) = our_path_len(&out, &self.crate_name) {
                        if after_closure_bar(&out) {
                            self.in_closures.push(ident.span());
                        }
                        out.truncate(out.len() - path_len);
                        self.found.push(ident.span());
                        let args = &input[i + 2];
                        let hidden = Ident::new("__init_section", ident.span());
                        let krate = self.krate;
                        out.extend(quote_spanned!(ident.span()=> #krate::__private::#hidden! #args));
                        i += 3;
                        continue;
                    }
                    out.push(input[i].clone());
                }
                // Statements only: the body's top level, and `async { … }` blocks, where
                // `#[tokio::main]` puts the body when it runs first. Walking every nested group
                // would cost a compiler round trip per group (tens of ms on a large `main`).
                TokenTree::Group(group)
                    if group.delimiter() == Delimiter::Brace && follows_async(&input[..i]) =>
                {
                    match self.rewrite(group.stream()) {
                        Some(inner) => {
                            if !changed {
                                out.extend_from_slice(&input[..i]);
                                changed = true;
                            }
                            let mut new = Group::new(group.delimiter(), inner);
                            new.set_span(group.span());
                            out.push(TokenTree::Group(new));
                        }
                        None if changed => out.push(input[i].clone()),
                        None => {}
                    }
                }
                other if changed => out.push(other.clone()),
                _ => {}
            }
            i += 1;
        }
        changed.then(|| out.into_iter().collect())
    }
}

/// A call of the reload API among the body's top-level statements (the shallow scan sees no
/// further; a call deeper in is reported once at run time): its span and name. `reload` and
/// `reload_async` count only with the crate's path, as a program may have its own.
fn reload_api_use(body: &TokenStream, krate: &TokenStream) -> Option<(Span, String)> {
    const OURS: [&str; 4] = [
        "reload_requested",
        "wait_reload_request",
        "wait_reload_request_timeout",
        "reload_request",
    ];
    const WITH_PATH: [&str; 2] = ["reload", "reload_async"];
    let crate_name = crate_name(krate);
    let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
    for (i, tt) in tokens.iter().enumerate() {
        let TokenTree::Ident(ident) = tt else { continue };
        // Calls only: an identifier followed by `( … )`.
        if !matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        {
            continue;
        }
        let name = ident.to_string();
        let pathed = i >= 3
            && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == ':')
            && matches!(&tokens[i - 3], TokenTree::Ident(c) if *c == crate_name);
        if OURS.contains(&name.as_str()) || (pathed && WITH_PATH.contains(&name.as_str())) {
            return Some((ident.span(), name));
        }
    }
    None
}

/// The last name of the crate's path (`sdnotify`, or the renamed crate's), which the user's
/// paths to its items start with.
fn crate_name(krate: &TokenStream) -> String {
    krate
        .clone()
        .into_iter()
        .filter_map(|tt| match tt {
            TokenTree::Ident(i) => Some(i.to_string()),
            _ => None,
        })
        .last()
        .unwrap_or_else(|| "sdnotify".to_owned())
}

/// A `|` in the statement so far: the `init!` is in a closure's body (or after `||`).
fn after_closure_bar(out: &[TokenTree]) -> bool {
    let is_punct = |tt: &TokenTree, c: char| matches!(tt, TokenTree::Punct(p) if p.as_char() == c);
    let start = out
        .iter()
        .rposition(|tt| is_punct(tt, ';'))
        .map_or(0, |at| at + 1);
    out[start..].iter().any(|tt| is_punct(tt, '|'))
}

/// `async` or `async move` comes right before.
fn follows_async(before: &[TokenTree]) -> bool {
    let is = |tt: Option<&TokenTree>, word: &str| matches!(tt, Some(TokenTree::Ident(i)) if i == word);
    let n = before.len();
    is(before.last(), "async") || (is(before.last(), "move") && n >= 2 && is(before.get(n - 2), "async"))
}

/// `! (…)`, `! […]` or `! {…}` follows.
fn is_invocation(rest: &[TokenTree]) -> bool {
    matches!(rest, [TokenTree::Punct(p), TokenTree::Group(_), ..] if p.as_char() == '!')
}

/// How many tokens before `init` form a path to our crate (`sdnotify::`, `::sdnotify::`, or
/// nothing for an imported `init!`); `None` when the path leads somewhere else.
fn our_path_len(out: &[TokenTree], crate_name: &str) -> Option<usize> {
    let is_colon = |tt: Option<&TokenTree>| matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    let n = out.len();
    if !(n >= 2 && is_colon(out.get(n - 1)) && is_colon(out.get(n - 2))) {
        return Some(0);
    }
    // A path: it must end in the crate's name.
    let Some(TokenTree::Ident(segment)) = n.checked_sub(3).and_then(|k| out.get(k)) else {
        return None;
    };
    if segment != crate_name {
        return None;
    }
    // Take the rest of the path before it: `(::)? (ident ::)*`.
    let mut len = 3;
    loop {
        let at = n - len;
        if at >= 2 && is_colon(out.get(at - 1)) && is_colon(out.get(at - 2)) {
            if at >= 3 && matches!(out.get(at - 3), Some(TokenTree::Ident(_))) {
                len += 3;
                continue;
            }
            len += 2;
        }
        return Some(len);
    }
}
