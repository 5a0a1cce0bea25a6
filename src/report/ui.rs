//! What commands say to a person: results on stdout, confirmation prompts, and the
//! signals that end a run.

use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::report::exit::{Code, fail};

/// One line of results on stdout. A closed pipe (`kronic ... | head`) comes back as an
/// error that main treats as success, instead of the panic `println!` would give.
pub fn say(line: impl Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// `-q`: a run that went well says nothing (cron mails only what went wrong).
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A line saying a step completed: on stdout, except under `-q`.
pub fn done(line: impl Display) -> Result<()> {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    say(line)
}

/// A line from standard input that may be a secret: on a terminal, asked for with
/// `prompt` on stderr and read without echo (the terminal's settings restored after);
/// from a pipe, read as it comes.
pub fn read_secret_line(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let mut line = String::new();
    let saved = match stdin.is_terminal() {
        true => tcgetattr(&stdin).ok(),
        false => None,
    };
    if let Some(saved) = &saved {
        eprint!("{prompt}");
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&stdin, OptionalActions::Now, &quiet)?;
    }
    let read = std::io::BufRead::read_line(&mut stdin.lock(), &mut line);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&stdin, OptionalActions::Now, saved);
        eprintln!();
    }
    read.map(|_| line.trim_end_matches(['\n', '\r']).to_string())
}

/// Asks before a destructive step. Off a terminal it needs `--yes` (exit 64 otherwise),
/// so cron and CI never hang on a prompt; an answer other than yes is exit 1.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            Code::Usage,
            format!("{question}: refusing without --yes when standard input is not a terminal"),
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        // A person said no: not a usage error (64), and not a failure to alert on.
        Err(fail(Code::Attention, "cancelled: nothing was changed"))
    }
}

/// Resolves on SIGTERM, SIGINT (Ctrl-C), SIGHUP or SIGQUIT: each ends a run the same
/// way, after cleaning up (exit 130).
pub async fn shutdown_signal() {
    Interrupts::listen().arrived().await;
}

/// SIGTERM, SIGINT, SIGHUP and SIGQUIT, listened for from now on: one that arrives
/// during a step that must not be cut short (an upload being created or completed) is
/// kept, to be acted on right after that step, instead of killing kronic mid-way.
pub struct Interrupts {
    signals: Vec<tokio::signal::unix::Signal>,
    seen: bool,
}

impl Interrupts {
    pub fn listen() -> Interrupts {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::hangup(),
            SignalKind::quit(),
        ];
        Interrupts {
            signals: kinds.into_iter().filter_map(|k| signal(k).ok()).collect(),
            seen: false,
        }
    }

    /// Resolves when a signal arrives, or at once once one has: a run asked to stop
    /// stays asked.
    pub async fn arrived(&mut self) {
        if self.seen {
            return;
        }
        if self.signals.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.signals.iter_mut().map(|s| Box::pin(s.recv()));
        futures_util::future::select_all(waits).await;
        self.seen = true;
    }

    /// Whether a signal has arrived (and been acted on, or not yet), without waiting.
    pub fn pending(&mut self) -> bool {
        use futures_util::FutureExt;
        self.seen || self.arrived().now_or_never().is_some()
    }
}

/// Text from elsewhere (a server's message, a panic) as one printable line of at most
/// `max` characters: control characters (newlines, a terminal's ESC) become spaces or
/// '?', so that it can neither forge a second line nor drive the terminal.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = text.split_whitespace().flat_map(|w| {
        std::iter::once(' ').chain(w.chars().map(|c| if c.is_control() { '?' } else { c }))
    });
    chars.next();
    for (n, c) in chars.enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_is_printable_and_bounded() {
        assert_eq!(super::one_line(" a\nb\u{1b}[2J\tc ", 100), "a b?[2J c");
        assert_eq!(super::one_line(&"x".repeat(10), 4), "xxxx…");
        assert_eq!(super::one_line("", 4), "");
    }
}
