//! `mailport completions SHELL` and `mailport man`: shell completion scripts and manual pages,
//! generated from the same clap definition that parses the command line, so they never list a
//! flag that does not exist. The installed binary prints them (there is no build step that
//! writes files next to it: `cargo install` installs only the binary).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Command};
use clap_complete::Shell;

#[derive(Args)]
#[command(after_help = "\
Install (the completion is read when a new shell starts):
  bash: mailport completions bash > ~/.local/share/bash-completion/completions/mailport
  zsh:  mailport completions zsh > ~/.zfunc/_mailport
        (with `fpath+=~/.zfunc; autoload -Uz compinit; compinit` in ~/.zshrc)
  fish: mailport completions fish > ~/.config/fish/completions/mailport.fish")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args)]
#[command(after_help = "\
`man mailport` then works once the page is in a man directory on the manual path, e.g. for a
binary installed with `cargo install --path cli` (in ~/.cargo/bin):
  mkdir -p ~/.cargo/share/man/man1 && mailport man --dir ~/.cargo/share/man/man1
man-db finds ~/.cargo/share/man from ~/.cargo/bin on PATH. To read it without installing:
  mailport man | man -l -")]
pub struct ManArgs {
    /// Write mailport.1 and one page per subcommand (mailport-send.1, ...) into this existing
    /// directory instead of printing mailport.1 to standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Print the completion script for `args.shell`; `cmd` is the whole command line definition.
pub fn completions(args: CompletionsArgs, mut cmd: Command) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "mailport", &mut script);
    write_stdout(&script)
}

/// Print the manual page, or write every page into `args.dir`.
pub fn man(args: ManArgs, cmd: Command) -> ExitCode {
    let cmd = cmd.disable_help_subcommand(true);
    match args.dir {
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut page) {
                Ok(()) => write_stdout(&page),
                Err(e) => {
                    eprintln!("mailport man: cannot render the manual page: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(dir) => {
            // An existing directory, so that a typo does not scatter pages into a new folder
            // that no man path names.
            if !dir.is_dir() {
                eprintln!(
                    "mailport man: {} is not a directory; create it first (e.g. mkdir -p {}) \
                     or leave out --dir to print the page",
                    dir.display(),
                    dir.display()
                );
                return ExitCode::from(3);
            }
            match clap_mangen::generate_to(cmd, &dir) {
                Ok(()) => {
                    println!("wrote the manual pages to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mailport man: cannot write into {}: {e}", dir.display());
                    ExitCode::from(3)
                }
            }
        }
    }
}

/// Write `bytes` to standard output; a closed pipe (`| head`) is not an error worth a message.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailport: cannot write to standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
