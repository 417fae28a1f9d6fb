//! Signal names, both readers: the runtime's (`ReloadSignal=`, `sdnotify run --reload-signal`)
//! and the attribute's compile-time check. Never a panic; what the attribute accepts, the
//! runtime resolves to a signal a handler may take; a resolved signal's name reads back.
#![no_main]

#[path = "../../sdnotify-macros/src/signal.rs"]
#[allow(dead_code)]
mod attribute;

use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::signal;

fuzz_target!(|text: &str| {
    let resolved = signal::from_name(text);
    if let Some(number) = resolved {
        assert_eq!(signal::from_name(&signal::name(number)), Some(number));
    }
    if let Ok(canonical) = attribute::canonical(text) {
        let number = signal::from_name(&canonical).expect("the runtime knows what the attribute takes");
        assert!(signal::can_be_handled(number), "{canonical}");
        assert_eq!(signal::from_name(text), Some(number));
    }
});
