//! Terminal colours: on for a terminal, off for pipes, files and when `NO_COLOR` is set.

use std::io::IsTerminal;

/// Whether to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// No colours.
    pub fn plain() -> Self {
        Style { colour: false }
    }

    /// ANSI colours.
    pub fn coloured() -> Self {
        Style { colour: true }
    }

    /// Colours when standard output is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect() -> Self {
        Self::for_terminal(std::io::stdout().is_terminal())
    }

    /// Colours when `is_tty` and `NO_COLOR` is unset or empty.
    pub fn for_terminal(is_tty: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: is_tty && !no_color,
        }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.colour {
            format!("\u{1b}[{code}m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }

    /// Green (added, complete).
    pub fn green(self, s: &str) -> String {
        self.paint("32", s)
    }

    /// Red (removed, failed).
    pub fn red(self, s: &str) -> String {
        self.paint("31", s)
    }

    /// Bold red (data loss).
    pub fn red_bold(self, s: &str) -> String {
        self.paint("1;31", s)
    }

    /// Yellow (modified, in progress, security).
    pub fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }

    /// Bold (headings).
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
}
