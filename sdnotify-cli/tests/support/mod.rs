//! Test support shared by the CLI's integration tests.
pub mod user_manager;
