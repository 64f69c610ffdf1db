//! `mailport`: send mail, check a server's ports, capture mail locally, a demo of all three, and
//! the outbox (queue mail with `send --outbox`, deliver it with `outbox run`).
//!
//! A thin layer over the library: every behaviour lives in `mailport`; this file only parses the
//! command line and hands each subcommand its arguments.

mod capture;
mod check;
mod demo;
mod exit;
mod manual;
mod oauth;
mod outbox;
mod send;
mod shared;
mod table;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mailport",
    version,
    about = "Send email through SMTP the safe way, find out which port works, and catch mail locally.",
    after_help = exit::HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send a message (text, HTML, attachments) and say precisely what went wrong if it fails.
    Send(send::SendArgs),
    /// Check a server's mail ports (587, 465, 2525, 25) and say which one to use, and why.
    Check(check::CheckArgs),
    /// Run a local SMTP server that stores every message it receives as an .eml file.
    Capture(capture::CaptureArgs),
    /// Start a capture server, check it, send it a message, and show what happened.
    Demo(demo::DemoArgs),
    /// Deliver, list and manage the messages in an outbox (`send --outbox` puts them there).
    Outbox(outbox::OutboxArgs),
    /// Sign in at Microsoft or Google once and keep the refresh token OAuth sending needs.
    Oauth(oauth::OauthArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(manual::CompletionsArgs),
    /// Print the manual page (roff), or write all of them into a directory with --dir.
    Man(manual::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Send(args) => send::run(args),
        Command::Check(args) => check::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Outbox(args) => outbox::run(args),
        Command::Oauth(args) => oauth::run(args),
        Command::Completions(args) => manual::completions(args, Cli::command()),
        Command::Man(args) => manual::man(args, Cli::command()),
    }
}
