//! The checkov checks the test command runs are exactly those the recommended rules map to.

#[test]
fn checkov_check_list_matches_the_rules() {
    let mut from_rules: Vec<&str> = cairn_aspects::rules::recommended()
        .iter()
        .flat_map(|r| r.info().checkov.to_vec())
        .collect();
    from_rules.sort_unstable();
    from_rules.dedup();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/checkov-checks.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut listed: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed, from_rules,
        "update scripts/checkov-checks.txt to the rules' checkov ids"
    );
}
