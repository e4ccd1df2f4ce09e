//! Runs tests/packaging.sh (the .ipk builds and their checks). It cross-builds two release
//! binaries, which takes minutes, so it runs when LANGO_CI=1 (CI) or LANGO_PACKAGING=1; in CI
//! nothing in it may be skipped.

#[test]
fn ipk_packages_are_what_opkg_expects() {
    let ci = std::env::var("LANGO_CI").as_deref() == Ok("1");
    if !ci && std::env::var("LANGO_PACKAGING").as_deref() != Ok("1") {
        println!(
            "SKIPPED: packaging checks build release ipks; run with LANGO_PACKAGING=1 (CI does)"
        );
        return;
    }
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/packaging.sh"))
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tests/packaging.sh failed");
    let summary = text
        .lines()
        .rev()
        .find(|l| l.starts_with("packaging:"))
        .unwrap_or("");
    assert!(summary.contains(" 0 failed"), "{summary}");
    if ci {
        let nothing_skipped = !summary.contains("skipped") || summary.contains(", 0 skipped");
        assert!(nothing_skipped, "nothing may be skipped in CI: {summary}");
    }
}
