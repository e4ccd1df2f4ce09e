//! Runs tests/packaging.sh (the .ipk and .apk builds and their checks: qemu runs, opkg and apk
//! installs). It cross-builds four release binaries (x86_64, aarch64, mipsel, ARMv7), which
//! takes minutes, so it runs when LANGO_CI=1 (CI) or LANGO_PACKAGING=1; in CI nothing in it
//! may be skipped but the opkg and apk checks where .ci/setup-openwrt-tools.sh has no source
//! archives to build those tools from.

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
        // OpenWrt's opkg and apk are built from the source archives .ci/setup-openwrt-tools.sh
        // looks for; only where those are absent may their checks skip.
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/third_party")
            .exists();
        let skips: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("SKIP "))
            .collect();
        let allowed = |l: &&str| !shared && l.contains("needs OpenWrt's");
        assert!(
            skips.iter().all(allowed),
            "nothing may be skipped in CI (only OpenWrt's tools, without their source archives): {skips:?}"
        );
    }
}
