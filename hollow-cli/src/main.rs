//! The `hollow` binary: parses the command line and runs the command; an
//! error is one line on stderr and a non-zero exit code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hollow_cli::args::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = hollow_cli::run(cli, &mut out);
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        // The reader closed the pipe (`hollow export | head`): stop quietly.
        (Err(e), _) if e.is_broken_pipe() => ExitCode::SUCCESS,
        (Ok(()), Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code())
        }
        (Ok(()), Err(e)) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(hollow_cli::EXIT_ERROR)
        }
    }
}
