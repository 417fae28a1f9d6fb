//! Test support shared by the CLI's integration tests.
#![allow(unreachable_pub)]

pub mod user_manager;
