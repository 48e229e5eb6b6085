//! Schema `pattern`s: a whole-text character class checked by its ranges, else a regex.

use super::*;

/// A schema `pattern`, ready to match.
#[derive(Debug)]
pub(super) enum Pattern {
    /// The whole text is `min..=max` characters of one class (`^[...]*$`, `^([...]+)$`,
    /// `^[...]{1,64}$`: most patterns of names and tags): checked a character at a time
    /// against the class's ranges, without building an automaton (which for a class
    /// like `\p{L}` costs a few milliseconds, more than every check of a large app).
    Class {
        ranges: Vec<(char, char)>,
        min: u32,
        max: Option<u32>,
    },
    /// Any other pattern.
    Regex(Regex),
}

impl Pattern {
    pub(super) fn new(pattern: &str) -> Option<Pattern> {
        Pattern::whole_class(pattern).or_else(|| Regex::new(pattern).ok().map(Pattern::Regex))
    }

    /// The [`Pattern::Class`] form of `pattern`, when it has that shape (parsed as the
    /// `regex` crate parses it, so the two match the same texts).
    pub(super) fn whole_class(pattern: &str) -> Option<Pattern> {
        use regex_syntax::hir::{Class, Hir, HirKind, Look};
        fn ungroup(mut h: &Hir) -> &Hir {
            while let HirKind::Capture(c) = h.kind() {
                h = &c.sub;
            }
            h
        }
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let [start, body, end] = parts.as_slice() else {
            return None;
        };
        if start.kind() != &HirKind::Look(Look::Start) || end.kind() != &HirKind::Look(Look::End) {
            return None;
        }
        let (min, max, class) = match ungroup(body).kind() {
            HirKind::Repetition(r) => match ungroup(&r.sub).kind() {
                HirKind::Class(Class::Unicode(c)) => (r.min, r.max, c),
                _ => return None,
            },
            HirKind::Class(Class::Unicode(c)) => (1, Some(1), c),
            _ => return None,
        };
        Some(Pattern::Class {
            ranges: class.ranges().iter().map(|r| (r.start(), r.end())).collect(),
            min,
            max,
        })
    }

    pub(super) fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Class { ranges, min, max } => {
                let mut count: u32 = 0;
                for ch in text.chars() {
                    // The ranges are sorted and disjoint.
                    let i = ranges.partition_point(|&(_, hi)| hi < ch);
                    if ranges.get(i).is_none_or(|&(lo, _)| ch < lo) {
                        return false;
                    }
                    count = count.saturating_add(1);
                }
                count >= *min && max.is_none_or(|m| count <= m)
            }
            Pattern::Regex(re) => re.is_match(text),
        }
    }
}
