//! `mailport oauth …`: the first login that yields a refresh token, and (in [`flags`]) the
//! OAuth options of `send` and `check`.

pub mod flags;
mod login;
pub mod token_file;

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct OauthArgs {
    #[command(subcommand)]
    command: OauthCommand,
}

#[derive(clap::Subcommand, Debug)]
enum OauthCommand {
    /// Sign in at Microsoft or Google (or another provider) once, and keep the refresh token
    /// that `send --oauth-provider … --oauth-refresh-token-file FILE` then uses.
    Login(login::LoginArgs),
}

pub fn run(args: OauthArgs) -> ExitCode {
    match args.command {
        OauthCommand::Login(args) => login::run(args),
    }
}
