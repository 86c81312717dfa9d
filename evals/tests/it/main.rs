//! `evals`' integration tests, one binary: the injection and abstention suites run end to end
//! with the fixture models (all-MiniLM-L6-v2, SmolLM2-135M-instruct; `./x setup` installs
//! them) and their gates must pass.

mod approval;
mod suites;
