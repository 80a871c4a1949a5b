//! `dingtalk-sim`: serve the simulated DingTalk (default), or run the callback crypto on the
//! command line (`dingtalk-sim crypto encrypt|decrypt`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match args.command {
        Some(cli::Command::Crypto { op }) => cli::crypto::run(op),
        Some(cli::Command::Serve(serve)) => cli::serve::run(serve),
        None => cli::serve::run(cli::serve::ServeArgs::parse_from(["dingtalk-sim"])),
    }
}
