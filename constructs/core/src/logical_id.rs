//! Logical IDs computed the way aws-cdk-lib computes them, so a stack ported from the
//! CDK keeps its logical IDs and CloudFormation does not replace its resources.
//!
//! - a single path component (a resource directly under its stack) is used as it is,
//!   without its non-alphanumeric characters;
//! - otherwise the human part (components without `Resource`, consecutive duplicates
//!   removed, non-alphanumerics removed, at most 240 characters) is followed by the first
//!   8 hex digits, upper-case, of the MD5 of the full path joined with `/`;
//! - components named `Default` are dropped before either rule.

use md5::{Digest, Md5};

const HIDDEN_ID: &str = "Default";
const HIDDEN_FROM_HUMAN_ID: &str = "Resource";
const MAX_HUMAN_LEN: usize = 240;
const MAX_ID_LEN: usize = 255;
const HASH_LEN: usize = 8;

/// The logical ID of a node from its path components relative to its stack.
///
/// ```
/// use cairn_core::make_unique_id;
/// assert_eq!(make_unique_id(&["MyBucket"]), "MyBucket");
/// assert_eq!(make_unique_id(&["Group", "Jobs"]), "GroupJobsA8FAB84E");
/// ```
pub fn make_unique_id(components: &[&str]) -> String {
    let components: Vec<&str> = components.iter().copied().filter(|c| *c != HIDDEN_ID).collect();
    if components.len() == 1 {
        let mut top = String::with_capacity(components[0].len());
        push_alphanumeric(&mut top, components[0]);
        if top.len() <= MAX_ID_LEN {
            return top;
        }
    }
    let mut human = String::with_capacity(64);
    let mut last: Option<&str> = None;
    for c in &components {
        if let Some(prev) = last {
            if prev.ends_with(c) {
                continue;
            }
        }
        last = Some(c);
        if *c != HIDDEN_FROM_HUMAN_ID {
            push_alphanumeric(&mut human, c);
        }
    }
    // Only ASCII was kept: any byte length is a character boundary.
    human.truncate(MAX_HUMAN_LEN);
    push_path_hash(&mut human, &components);
    human
}

/// Appends the first [`HASH_LEN`] upper-case hex digits of the MD5 of the `/`-joined path.
fn push_path_hash(out: &mut String, components: &[&str]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut hasher = Md5::new();
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            hasher.update(b"/");
        }
        hasher.update(c.as_bytes());
    }
    let digest = hasher.finalize();
    for b in digest.iter().take(HASH_LEN / 2) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// Appends the ASCII letters and digits of `s`.
fn push_alphanumeric(out: &mut String, s: &str) {
    out.extend(s.chars().filter(char::is_ascii_alphanumeric));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed with aws-cdk-lib's algorithm (md5 of the '/'-joined path).
    #[test]
    fn matches_the_cdk_rule() {
        assert_eq!(make_unique_id(&["MyBucket"]), "MyBucket");
        assert_eq!(make_unique_id(&["My-Bucket_1"]), "MyBucket1");
        assert_eq!(make_unique_id(&["Group", "Jobs"]), "GroupJobsA8FAB84E");
        // `Resource` is hidden from the human part but still hashed.
        assert_eq!(make_unique_id(&["MyBucket", "Resource"]), "MyBucketF68F3FF0");
        // `Default` is dropped entirely: same as a top-level id.
        assert_eq!(make_unique_id(&["Topic", "Default"]), "Topic");
        // Consecutive duplicates are removed from the human part only.
        assert_eq!(make_unique_id(&["Vpc", "Vpc"]), "VpcFB0DB6AD");
    }

    #[test]
    fn long_human_parts_are_truncated() {
        let long = "A".repeat(300);
        let id = make_unique_id(&[&long, "B"]);
        assert_eq!(id.len(), MAX_HUMAN_LEN + HASH_LEN);
        assert_eq!(make_unique_id(&[&long]).len(), MAX_HUMAN_LEN + HASH_LEN);
    }
}
