//! The `deskmate` binary's integration tests, one binary: the repository's architecture rules,
//! the CLI end to end, the deployment files, the README's commands as written, and the official
//! OpenAI Python client, LangChain and lm-evaluation-harness against our server.

mod architecture;
mod cli;
mod deployment;
mod ecosystem_clients;
mod openai_client;
mod readme;
