//! The command line: `serve` (the default) and `crypto encrypt|decrypt`.

pub mod crypto;
pub mod serve;

use clap::{Parser, Subcommand};

/// A local stand-in for DingTalk's Open Platform.
#[derive(Debug, Parser)]
#[command(name = "dingtalk-sim", version, about)]
pub struct Cli {
    /// What to do (default: serve with default settings).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the simulated DingTalk.
    Serve(serve::ServeArgs),
    /// DingTalk's callback crypto on the command line.
    Crypto {
        /// encrypt or decrypt.
        #[command(subcommand)]
        op: crypto::CryptoOp,
    },
}
