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
        let top = remove_non_alphanumeric(components[0]);
        if top.len() <= MAX_ID_LEN {
            return top;
        }
    }
    let hash = path_hash(&components);
    let mut human = String::new();
    let mut last: Option<&str> = None;
    for c in &components {
        // Drop a component the previous one already ends with ("removeDupes").
        if let Some(prev) = last {
            if prev.ends_with(c) {
                continue;
            }
        }
        last = Some(c);
        if *c != HIDDEN_FROM_HUMAN_ID {
            human.push_str(&remove_non_alphanumeric(c));
        }
    }
    human.truncate(MAX_HUMAN_LEN);
    human + &hash
}

fn path_hash(components: &[&str]) -> String {
    let digest = Md5::digest(components.join("/").as_bytes());
    let mut hex = String::with_capacity(HASH_LEN);
    for b in digest.iter().take(HASH_LEN / 2) {
        hex.push_str(&format!("{b:02X}"));
    }
    hex
}

fn remove_non_alphanumeric(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
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
