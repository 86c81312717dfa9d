//! The `deskmate` binary.
fn main() {}
