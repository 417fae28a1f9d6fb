//! `cargo bench -p sdnotify-macros`: how long `#[sdnotify::main]` takes to expand a `main` of
//! 2,000 lines, compared with the cheapest possible pass over the same tokens (a deep clone).
//!
//! The macro's modules are compiled into this benchmark directly, since a proc-macro crate
//! cannot export functions. Outside rustc, proc-macro2 runs in its fallback mode, whose costs
//! differ from the compiler's; the closing note of the attribute issue has in-rustc numbers
//! (`-Z time-passes`) as well.

#![allow(dead_code, unreachable_pub, missing_docs)]

#[path = "../src/error.rs"]
mod error;
#[path = "../src/expand.rs"]
mod expand;
#[path = "../src/item.rs"]
mod item;
#[path = "../src/options.rs"]
mod options;
#[path = "../src/signal.rs"]
// Its unit tests need the test harness this bench does not have.
#[allow(unused)]
mod signal;

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use proc_macro2::TokenStream;

fn big_main(lines: usize) -> String {
    let mut src = String::from("fn main() -> Result<(), std::io::Error> {\n");
    src.push_str("    let config = sdnotify::init! { load(\"app.toml\")? };\n");
    for i in 0..lines {
        src.push_str(&format!(
            "    let value_{i} = compute(&config, {i}).map(|v| v * 2 + {i}).unwrap_or_default();\n"
        ));
    }
    src.push_str("    Ok(())\n}\n");
    src
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let item = TokenStream::from_str(&big_main(2000)).expect("valid tokens");
    let args = TokenStream::from_str("watchdog = \"heartbeat\"").expect("valid tokens");
    let out = expand::main(args.clone(), item.clone()).to_string();
    assert!(out.contains("__init_section"), "init! was rewritten");
    assert!(!out.contains("compile_error"), "no error");

    let rounds = if quick { 3 } else { 41 };
    let time = |f: &dyn Fn()| {
        let mut samples: Vec<f64> = (0..rounds)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        samples.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        samples[samples.len() / 2]
    };
    let expand_ms = time(&|| {
        black_box(expand::main(black_box(args.clone()), black_box(item.clone())));
    });
    let clone_ms = time(&|| {
        let copy: TokenStream = black_box(&item).clone().into_iter().collect();
        black_box(copy.to_string().len());
    });
    println!();
    println!("#[sdnotify::main] on a 2,000-line main (median of {rounds}):");
    println!("  expansion                      {expand_ms:8.3} ms");
    println!(
        "  clone + print the same tokens  {clone_ms:8.3} ms (a floor for any macro that emits the body)"
    );
    println!();
}
