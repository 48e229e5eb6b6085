//! Where the commands write: progress and events to one writer (standard error), results to
//! another (standard output; standard error too under `--json`, which keeps standard output
//! for the one JSON document), and questions to the person at the terminal, if there is one.
//! The commands print through a [`Reporter`] only, so the tests read what a run said.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::style::Style;

/// Asks a yes/no question (blocking: it runs on a blocking thread).
pub(crate) trait Ask: Send + Sync {
    /// The answer to `question`.
    fn ask(&self, question: &str) -> bool;

    /// A line of text typed in answer to `question` (trimmed; empty when there is none).
    fn input(&self, question: &str) -> String {
        let _ = question;
        String::new()
    }
}

/// Writes `question` on standard error and reads one line from standard input, trimmed.
fn read_answer(question: &str) -> String {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} ");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_string()
}

/// Asks on standard error and reads the answer from standard input.
struct Stdin;

impl Ask for Stdin {
    fn ask(&self, question: &str) -> bool {
        matches!(
            read_answer(&format!("{question} (y/n)"))
                .to_ascii_lowercase()
                .as_str(),
            "y" | "yes"
        )
    }

    fn input(&self, question: &str) -> String {
        read_answer(question)
    }
}

type Sink = Mutex<Box<dyn Write + Send>>;

/// The output of one command run.
pub(crate) struct Reporter {
    out: Sink,
    err: Sink,
    /// The style of progress lines (standard error's terminal).
    pub style: Style,
    /// The style of results (standard output's terminal).
    pub out_style: Style,
    /// Whether the command prints one JSON document on the output.
    pub json: bool,
    ask: Option<Arc<dyn Ask>>,
    /// Serializes questions between concurrent deployments.
    prompt: tokio::sync::Mutex<()>,
}

impl Reporter {
    /// Standard output and standard error; questions on the terminal when standard input
    /// is one.
    pub(crate) fn stdio(json: bool) -> Self {
        let ask = std::io::stdin()
            .is_terminal()
            .then(|| Arc::new(Stdin) as Arc<dyn Ask>);
        let mut r = Reporter::new(
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
            json,
            ask,
        );
        r.style = Style::for_terminal(std::io::stderr().is_terminal());
        r.out_style = Style::detect();
        r
    }

    /// Writers and an asker of the caller's (`ask: None`: nobody to ask), plain style.
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        json: bool,
        ask: Option<Arc<dyn Ask>>,
    ) -> Self {
        Reporter {
            out: Mutex::new(out),
            err: Mutex::new(err),
            style: Style::plain(),
            out_style: Style::plain(),
            json,
            ask,
            prompt: tokio::sync::Mutex::new(()),
        }
    }

    fn write(sink: &Sink, text: &str) {
        let mut w = match sink.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = w.write_all(text.as_bytes());
        let _ = w.flush();
    }

    /// A progress line (standard error).
    pub(crate) fn progress(&self, line: &str) {
        Self::write(&self.err, &format!("{line}\n"));
    }

    /// Result text (standard output; standard error under `--json`). `text` ends its
    /// lines itself.
    pub(crate) fn result(&self, text: &str) {
        if self.json {
            Self::write(&self.err, text);
        } else {
            Self::write(&self.out, text);
        }
    }

    /// Result text that has no place in `--json` mode (dropped there).
    pub(crate) fn text(&self, text: &str) {
        if !self.json {
            Self::write(&self.out, text);
        }
    }

    /// The JSON document (standard output).
    pub(crate) fn document(&self, v: &Json) {
        let text = serde_json::to_string_pretty(v).unwrap_or_default();
        Self::write(&self.out, &format!("{text}\n"));
    }

    /// Whether there is somebody to ask.
    pub(crate) fn can_ask(&self) -> bool {
        self.ask.is_some()
    }

    /// Asks for a line of text (one question at a time); `None` when nobody can answer.
    pub(crate) async fn input(&self, question: &str) -> Option<String> {
        let ask = self.ask.clone()?;
        let _guard = self.prompt.lock().await;
        let question = question.to_string();
        tokio::task::spawn_blocking(move || ask.input(&question))
            .await
            .ok()
    }

    /// Asks `question` (one question at a time); `false` when nobody can answer.
    pub(crate) async fn ask(&self, question: &str) -> bool {
        let Some(ask) = self.ask.clone() else {
            return false;
        };
        let _guard = self.prompt.lock().await;
        let question = question.to_string();
        tokio::task::spawn_blocking(move || ask.ask(&question))
            .await
            .unwrap_or(false)
    }
}

/// A writer into a shared buffer (the tests read what a run wrote).
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Buffer {
    /// What was written.
    pub(crate) fn text(&self) -> String {
        let bytes = match self.0.lock() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut b) => b.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Answer(bool);
    impl Ask for Answer {
        fn ask(&self, _: &str) -> bool {
            self.0
        }
    }

    #[tokio::test]
    async fn results_move_to_the_progress_writer_under_json() {
        let (out, err) = (Buffer::default(), Buffer::default());
        let r = Reporter::new(Box::new(out.clone()), Box::new(err.clone()), true, None);
        r.progress("step");
        r.result("Outputs:\n");
        r.text("dropped\n");
        r.document(&serde_json::json!({"a": 1}));
        assert_eq!(err.text(), "step\nOutputs:\n");
        assert_eq!(out.text(), "{\n  \"a\": 1\n}\n");
        assert!(!r.can_ask());
        assert!(!r.ask("?").await);
        let r = Reporter::new(
            Box::new(Buffer::default()),
            Box::new(Buffer::default()),
            false,
            Some(Arc::new(Answer(true))),
        );
        assert!(r.ask("deploy?").await);
    }
}
