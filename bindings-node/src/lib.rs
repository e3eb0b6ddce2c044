//! `pregen-node`: the Node.js addon of pregen. The JavaScript class `PreGen` holds a `pregen_core::service::PreGen`
//! and forwards each call to it: arguments are converted in, results are converted out (as plain JavaScript
//! objects, key for key as the core serializes them), and errors become JavaScript `Error`s carrying the core's
//! stable `code` and `retryable`. No rule lives here.

mod error;
mod logging;
mod routes;
mod service;
mod settle;
