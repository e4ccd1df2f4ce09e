#!/usr/bin/env bash
# Builds static-musl .ipk packages of Lango for OpenWrt 23.05/24.10 without the OpenWrt SDK:
# cargo-zigbuild compiles, and this script lays the package out the way the SDK's ipkg-build
# does and opkg reads it: a gzip'd GNU tar of ./debian-binary, ./data.tar.gz, ./control.tar.gz.
#
#   scripts/build-ipk.sh [ARCH...]    ARCH: x86_64, aarch64_cortex-a53, aarch64_generic or another
#                                     aarch64_* (default: the first three)
#
# Writes dist/lango_VERSION_ARCH.ipk and prints the binary and package sizes.
# What goes into the package comes from one place each: the version and license from
# Cargo.toml; the dependencies, description and conffiles from openwrt-package/lango/Makefile
# (the SDK recipe); the installed files from openwrt-package/lango/files/.
# Environment: CARGO_TARGET_DIR (shared build cache), DIST (output directory),
# SOURCE_DATE_EPOCH (file times in the archives; default: the last commit's time).
# Needs: cargo-zigbuild and ziglang, the musl rustup targets (.ci/setup-packaging.sh).
set -euo pipefail
umask 022

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkgdir=$root/openwrt-package/lango
dist=${DIST:-$root/dist}
target_dir=${CARGO_TARGET_DIR:-$root/target}
release=1 # PKG_RELEASE: bump when the package changes but Lango does not.

die() { echo "build-ipk: $*" >&2; exit 1; }

# OpenWrt package architecture -> Rust target. Every aarch64_* flavour (cortex-a53, generic,
# cortex-a72, ...) runs the same binary: Rust's aarch64 baseline is ARMv8.0.
rust_target() {
	case "$1" in
	x86_64) echo x86_64-unknown-linux-musl ;;
	aarch64_*) echo aarch64-unknown-linux-musl ;;
	*) die "no static build for '$1' here (x86_64, aarch64_*); use the OpenWrt SDK, see openwrt-package/README.md" ;;
	esac
}

# `key = "value"` from Cargo.toml's [package] table.
cargo_field() {
	sed -n '/^\[package\]/,/^\[/ s/^'"$1"' *= *"\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1
}

# The body of `define NAME` ... `endef` in the SDK Makefile.
make_define() {
	awk -v name="$1" '$0 == "define " name { on = 1; next } on && $0 == "endef" { exit } on' "$pkgdir/Makefile"
}

# Package/lango's DEPENDS as opkg names: continuation lines joined, conditionals
# ($(RUST_ARCH_DEPENDS), @...) dropped, `+` stripped, comma-separated.
sdk_depends() {
	make_define Package/lango |
		awk '{ if (sub(/\\$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }' |
		sed -n 's/^[[:space:]]*DEPENDS:=//p' |
		tr -s ' \t' '\n' | grep '^+' | sed 's/^+//' | paste -sd, - | sed 's/,/, /g'
}

version=$(cargo_field version)
license=$(cargo_field license)
url=$(cargo_field repository)
summary=$(cargo_field description)
[[ -n $version && -n $license && -n $url && -n $summary ]] || die "Cargo.toml lacks version, license, repository or description"
depends=$(sdk_depends)
[[ -n $depends ]] || die "no DEPENDS found in $pkgdir/Makefile"
pkgversion=$version-r$release
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}

arches=("$@")
((${#arches[@]})) || arches=(x86_64 aarch64_cortex-a53 aarch64_generic)

# One cargo run for all targets: build scripts and proc-macros are compiled once.
targets=()
for arch in "${arches[@]}"; do
	t=$(rust_target "$arch")
	[[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t")
done
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done
echo "build-ipk: cargo zigbuild --release ${target_args[*]}"
(cd "$root" && CARGO_TARGET_DIR=$target_dir nice -n 19 cargo zigbuild --release --locked "${target_args[@]}")

# Reproducible tar.gz of DIR's contents, members named ./..., root-owned, sorted.
tgz() {
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime="@$epoch" \
		-C "$1" -cf - . | gzip -9n
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$dist"

for arch in "${arches[@]}"; do
	bin=$target_dir/$(rust_target "$arch")/release/lango
	[[ -x $bin ]] || die "$bin was not built"
	work=$stage/$arch
	data=$work/data control=$work/control outer=$work/outer
	mkdir -p "$data" "$control" "$outer"

	install -Dm0755 "$bin" "$data/usr/sbin/lango"
	install -Dm0755 "$pkgdir/files/lango.init" "$data/etc/init.d/lango"
	# 0600 like the SDK's INSTALL_CONF: the file holds the Daraja secrets.
	install -Dm0600 "$pkgdir/files/lango.config" "$data/etc/config/lango"
	install -Dm0755 "$pkgdir/files/lango.uci-defaults" "$data/etc/uci-defaults/90-lango"
	install -Dm0644 "$pkgdir/files/lango.keep" "$data/lib/upgrade/keep.d/lango"
	installed_size=$(find "$data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')

	{
		echo "Package: lango"
		echo "Version: $pkgversion"
		echo "Depends: $depends"
		echo "Source: $url"
		echo "License: $license"
		echo "Section: net"
		echo "URL: $url"
		echo "Maintainer: Lango maintainers"
		echo "Architecture: $arch"
		echo "Installed-Size: $installed_size"
		echo "Description: $summary"
		make_define Package/lango/description | sed 's/^[[:space:]]*/ /'
	} >"$control/control"
	make_define Package/lango/conffiles >"$control/conffiles"
	# postinst and prerm: the text the SDK's package-ipkg.mk writes. default_postinst (from the
	# router's /lib/functions.sh) runs uci-defaults, enables and starts the init script on a
	# live system; under IPKG_INSTROOT (image build) it only enables it, and the uci-defaults
	# script runs at first boot. default_prerm stops it, and disables it unless upgrading.
	cat >"$control/postinst" <<'SH'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
# shellcheck source=/dev/null # the router's base-files provide it
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
SH
	cat >"$control/prerm" <<'SH'
#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
# shellcheck source=/dev/null # the router's base-files provide it
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
SH
	chmod 0644 "$control/control" "$control/conffiles"
	chmod 0755 "$control/postinst" "$control/prerm"

	tgz "$data" >"$outer/data.tar.gz"
	tgz "$control" >"$outer/control.tar.gz"
	printf '2.0\n' >"$outer/debian-binary"
	out=$dist/lango_${pkgversion}_${arch}.ipk
	# Outer members in the order opkg expects, not sorted.
	tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" -C "$outer" \
		-cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n >"$out"

	printf 'build-ipk: %-40s binary %8d bytes  ipk %8d bytes\n' \
		"${out#"$root"/}" "$(stat -c %s "$bin")" "$(stat -c %s "$out")"
done
