//! Rustdoc text from schema descriptions.
//!
//! Descriptions are markdown written for the CloudFormation user guide. Rustdoc must never
//! see a code block in them (every code block would become a doctest), nor raw HTML, so:
//! every line is trimmed (no indented code blocks), runs of spaces are collapsed (no
//! indented code inside list items), runs of three or more backticks or tildes (code
//! fences) are escaped, and `<`, `>` become entities. Inline code is kept.

/// Sanitized doc lines for a description (empty when there is none).
pub fn lines(description: &str) -> Vec<String> {
    let text = description.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let mut line = String::with_capacity(raw.len());
        let mut prev_space = false;
        for c in raw.trim().chars() {
            let c = if c.is_whitespace() { ' ' } else { c };
            if c == ' ' {
                if prev_space {
                    continue;
                }
                prev_space = true;
            } else {
                prev_space = false;
            }
            match c {
                '<' => line.push_str("&lt;"),
                '>' => line.push_str("&gt;"),
                c => line.push(c),
            }
        }
        let line = escape_fences(&line);
        // Collapse blank-line runs.
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// Escapes every run of three or more backticks or tildes (a code fence opener).
fn escape_fences(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' || c == '~' {
            let mut j = i;
            while j < chars.len() && chars[j] == c {
                j += 1;
            }
            for _ in i..j {
                if j - i >= 3 {
                    out.push('\\');
                }
                out.push(c);
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Writes `///` doc comment lines at `indent`.
pub fn write(out: &mut String, indent: &str, lines: &[String]) {
    for l in lines {
        out.push_str(indent);
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            out.push_str("/// ");
            out.push_str(l);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_html_and_indentation_are_neutralized() {
        let d =
            "Intro <b>bold</b>\n\n```\nfn main() {}\n```\n\n    indented code\n+     list code\n\n\n~~~\nx";
        let l = lines(d);
        assert_eq!(
            l,
            vec![
                "Intro &lt;b&gt;bold&lt;/b&gt;",
                "",
                "\\`\\`\\`",
                "fn main() {}",
                "\\`\\`\\`",
                "",
                "indented code",
                "+ list code",
                "",
                "\\~\\~\\~",
                "x",
            ]
        );
        for line in &l {
            assert!(!line.contains("```") && !line.starts_with(' ') && !line.contains('<'));
        }
    }

    #[test]
    fn inline_code_is_kept() {
        assert_eq!(
            lines("Use ``PAY_PER_REQUEST``."),
            vec!["Use ``PAY_PER_REQUEST``."]
        );
    }
}
