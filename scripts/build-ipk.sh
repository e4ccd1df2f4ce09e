#!/usr/bin/env bash
# Builds static-musl packages of Lango for OpenWrt without the OpenWrt SDK: an .ipk for opkg
# (OpenWrt 23.05/24.10) and an .apk for apk-tools 3 (OpenWrt 25.12) per architecture.
# cargo-zigbuild compiles; this script lays the packages out the way the OpenWrt SDK
# does: the .ipk is a gzip'd GNU tar of ./debian-binary, ./data.tar.gz, ./control.tar.gz; the
# .apk comes from `apk mkpkg` with the same files, scripts and /lib/apk/packages/lango.* lists.
#
#   scripts/build-ipk.sh [ARCH...]    ARCH (OpenWrt's package architecture):
#     x86_64
#     aarch64_cortex-a53, aarch64_generic, any aarch64_*   (MT7981/MT7986, IPQ807x, Rockchip, ...)
#     mipsel_24kc                                          (MT7621 and other ramips)
#     arm_cortex-a7_neon-vfpv4, any arm_cortex-a*_ with a vfp/neon FPU   (IPQ40xx, mvebu, ...)
#   default: x86_64 aarch64_cortex-a53 aarch64_generic mipsel_24kc arm_cortex-a7_neon-vfpv4
#
# Writes dist/lango_VERSION_ARCH.ipk and dist/lango-VERSION_ARCH.apk and prints their sizes.
# The .apk needs apk-tools 3 (APK, else ~/.cache/openwrt-tools/bin/apk from
# .ci/setup-openwrt-tools.sh, else `apk` on PATH); without it only the .ipk files are built.
# What goes into a package comes from one place each: the version and license from Cargo.toml;
# the maintainer, dependencies, description and conffiles from openwrt-package/lango/Makefile
# (the SDK recipe); the installed files from openwrt-package/lango/files/.
# mipsel and ARMv7 have no prebuilt std for musl here: they build std from source with the
# nightly toolchain pinned below (-Zbuild-std); x86_64 and aarch64 use the stable toolchain.
# Environment: CARGO_TARGET_DIR (shared build cache), DIST (output directory),
# SOURCE_DATE_EPOCH (file times in the archives; default: the last commit's time), PKG_RELEASE
# (instead of the Makefile's, e.g. to try an upgrade).
# Needs: .ci/setup-packaging.sh (cargo-zigbuild, ziglang, musl targets, the nightly + rust-src).
# shellcheck disable=SC2016 # single-quoted ${...} here is text of the maintainer scripts.
set -euo pipefail
umask 022

# The nightly for the build-std targets: the one place it is named (.ci/setup-packaging.sh
# installs it from this line). Bump it deliberately, then run tests/packaging.sh.
NIGHTLY="nightly-2026-05-20"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkgdir=$root/openwrt-package/lango
dist=${DIST:-$root/dist}
target_dir=${CARGO_TARGET_DIR:-$root/target}

die() { echo "build-ipk: $*" >&2; exit 1; }

# OpenWrt package architecture -> Rust target. Every aarch64_* flavour runs the same binary
# (Rust's aarch64 baseline is ARMv8.0); every hard-float ARMv7 flavour runs the armv7 one
# (its baseline is ARMv7-A with VFPv3-D16, which vfpv3-d16, vfpv4 and neon cores all have).
rust_target() {
	case "$1" in
	x86_64) echo x86_64-unknown-linux-musl ;;
	aarch64_*) echo aarch64-unknown-linux-musl ;;
	mipsel_24kc) echo mipsel-unknown-linux-musl ;;
	arm_cortex-a*_*vfp* | arm_cortex-a*_neon*) echo armv7-unknown-linux-musleabihf ;;
	*) die "no static build for architecture '$1' here (x86_64, aarch64_*, mipsel_24kc, arm_cortex-a*_ with vfp/neon); use the OpenWrt SDK, see openwrt-package/README.md" ;;
	esac
}

# Targets built with $NIGHTLY and -Zbuild-std: those rustup ships no std for, and aarch64, whose
# std built for size (and static, position-dependent code) keeps its package under the 2 MiB
# budget: 3.73 MB -> 3.47 MB binary, 2.11 MB -> 1.95 MB package (measured with RADIUS in).
needs_build_std() {
	case "$1" in
	mipsel-* | armv7-* | aarch64-*) return 0 ;;
	*) return 1 ;;
	esac
}

# `key = "value"` from Cargo.toml's [package] table.
cargo_field() {
	sed -n '/^\[package\]/,/^\[/ s/^'"$1"' *= *"\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1
}

# `NAME:=value` from the SDK Makefile.
make_var() {
	sed -n 's/^'"$1"':=//p' "$pkgdir/Makefile" | head -n 1
}

# The body of `define NAME` ... `endef` in the SDK Makefile.
make_define() {
	awk -v name="$1" '$0 == "define " name { on = 1; next } on && $0 == "endef" { exit } on' "$pkgdir/Makefile"
}

# Package/lango's DEPENDS as package names, one a line: continuation lines joined, conditionals
# ($(RUST_ARCH_DEPENDS), @...) dropped, `+` stripped.
sdk_depends() {
	make_define Package/lango |
		awk '{ if (sub(/\\$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }' |
		sed -n 's/^[[:space:]]*DEPENDS:=//p' |
		tr -s ' \t' '\n' | grep '^+' | sed 's/^+//'
}

# llvm-objcopy of the pinned nightly (rustup's llvm-tools component).
llvm_objcopy() {
	local sysroot host
	sysroot=$(rustc "+$NIGHTLY" --print sysroot) || die "no $NIGHTLY toolchain (.ci/setup-packaging.sh)"
	host=$(rustc "+$NIGHTLY" -vV | sed -n 's/^host: //p')
	local tool=$sysroot/lib/rustlib/$host/bin/llvm-objcopy
	[[ -x $tool ]] || die "$tool missing: rustup component add llvm-tools --toolchain $NIGHTLY"
	echo "$tool"
}

# apk-tools 3, for the .apk files; empty when there is none.
find_apk() {
	local c
	for c in "${APK:-}" "$HOME/.cache/openwrt-tools/bin/apk" "$(command -v apk || true)"; do
		[[ -n $c && -x $c ]] || continue
		if "$c" --version 2>/dev/null | grep -q '^apk-tools 3\.'; then
			echo "$c"
			return
		fi
	done
}

version=$(cargo_field version)
license=$(cargo_field license)
url=$(cargo_field repository)
summary=$(cargo_field description)
[[ -n $version && -n $license && -n $url && -n $summary ]] || die "Cargo.toml lacks version, license, repository or description"
maintainer=$(make_var PKG_MAINTAINER)
release=${PKG_RELEASE:-$(make_var PKG_RELEASE)}
[[ -n $maintainer && -n $release ]] || die "$pkgdir/Makefile lacks PKG_MAINTAINER or PKG_RELEASE"
mapfile -t depends < <(sdk_depends)
((${#depends[@]})) || die "no DEPENDS found in $pkgdir/Makefile"
pkgversion=$version-r$release
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
apk_tool=$(find_apk)

arches=("$@")
((${#arches[@]})) || arches=(x86_64 aarch64_cortex-a53 aarch64_generic mipsel_24kc arm_cortex-a7_neon-vfpv4)

# One cargo run per toolchain, all its targets at once: build scripts and proc-macros are
# compiled once. For the build-std targets: static (+crt-static; mipsel's default is dynamic,
# like OpenWrt's own builds) with the C runtime objects from zig (link-self-contained=no), as
# rustup ships none for them; position-dependent code (relocation-model=static: a static
# executable needs no PIC, and MIPS PIC goes through the GOT for every call); std built with
# optimize_for_size and without its backtrace symbolizer (useless in a stripped binary).
# Together these take the mipsel binary from 4.9 MB to 4.2 MB (the same source), and without
# its .pdr section (below) to 3.9 MB.
stable=() nightly=()
for arch in "${arches[@]}"; do
	t=$(rust_target "$arch")
	if needs_build_std "$t"; then
		[[ " ${nightly[*]} " == *" --target $t "* ]] || nightly+=(--target "$t")
	else
		[[ " ${stable[*]} " == *" --target $t "* ]] || stable+=(--target "$t")
	fi
done
if ((${#stable[@]})); then
	echo "build-ipk: cargo zigbuild --release ${stable[*]}"
	(cd "$root" && CARGO_TARGET_DIR=$target_dir nice -n 19 cargo zigbuild --release --locked "${stable[@]}")
fi
if ((${#nightly[@]})); then
	static="-C target-feature=+crt-static -C link-self-contained=no -C relocation-model=static"
	std=("-Zbuild-std=std,panic_abort" -Zbuild-std-features=optimize_for_size)
	echo "build-ipk: cargo +$NIGHTLY zigbuild --release ${std[*]} ${nightly[*]}"
	(cd "$root" && CARGO_TARGET_DIR=$target_dir \
		CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS=$static \
		CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS=$static \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS=$static \
		nice -n 19 cargo "+$NIGHTLY" zigbuild --release --locked "${std[@]}" "${nightly[@]}")
fi

# Reproducible tar.gz of DIR's contents, members named ./..., root-owned, sorted.
tgz() {
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime="@$epoch" \
		-C "$1" -cf - . | gzip -9n
}

# The maintainer scripts, as the OpenWrt SDK writes them. default_postinst (the
# router's /lib/functions.sh) runs uci-defaults, enables and starts the init script on a live
# system; under IPKG_INSTROOT (image build) it only enables it, and uci-defaults run at first
# boot. default_prerm stops the service, and disables it unless upgrading.
# The .ipk's postinst and prerm pass their path and arguments (opkg's calling convention).
ipk_script() { # postinst|prerm
	echo '#!/bin/sh'
	[[ $1 == prerm ]] || echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
	echo '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0'
	echo '# shellcheck source=/dev/null # the router'"'"'s base-files provide it'
	echo '. "${IPKG_INSTROOT}/lib/functions.sh"'
	echo "default_$1 \"\$0\" \"\$@\""
}
# The .apk's post-install, post-upgrade and pre-deinstall: apk passes no arguments, so the
# package is named in $pkgname and the root in $root.
apk_script() { # post-install|post-upgrade|pre-deinstall
	echo '#!/bin/sh'
	[[ $1 != post-upgrade ]] || echo 'export PKG_UPGRADE=1'
	[[ $1 == pre-deinstall ]] || echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
	echo '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0'
	echo '# shellcheck source=/dev/null # the router'"'"'s base-files provide it'
	echo '. "${IPKG_INSTROOT}/lib/functions.sh"'
	echo 'export root="${IPKG_INSTROOT}"'
	echo 'export pkgname="lango"'
	if [[ $1 == pre-deinstall ]]; then
		echo 'default_prerm'
	else
		echo 'add_group_and_user'
		echo 'default_postinst'
	fi
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$dist"
description=$(make_define Package/lango/description)
conffiles=$(make_define Package/lango/conffiles)

for arch in "${arches[@]}"; do
	bin=$target_dir/$(rust_target "$arch")/release/lango
	[[ -x $bin ]] || die "$bin was not built"
	work=$stage/$arch
	data=$work/data control=$work/control outer=$work/outer
	mkdir -p "$data" "$control" "$outer"

	install -Dm0755 "$bin" "$data/usr/sbin/lango"
	# MIPS objects carry a .pdr section (procedure descriptors for debuggers, never loaded):
	# 340 KB of the mipsel binary that strip leaves in.
	if [[ $arch == mips* ]]; then
		"$(llvm_objcopy)" --remove-section=.pdr "$data/usr/sbin/lango" ||
			die "llvm-objcopy could not remove .pdr from $bin"
	fi
	install -Dm0755 "$pkgdir/files/lango.init" "$data/etc/init.d/lango"
	# 0600 like the SDK's INSTALL_CONF: the file holds the Daraja secrets.
	install -Dm0600 "$pkgdir/files/lango.config" "$data/etc/config/lango"
	install -Dm0755 "$pkgdir/files/lango.uci-defaults" "$data/etc/uci-defaults/90-lango"
	install -Dm0644 "$pkgdir/files/lango.keep" "$data/lib/upgrade/keep.d/lango"
	installed_size=$(find "$data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')

	# --- .ipk ---
	{
		echo "Package: lango"
		echo "Version: $pkgversion"
		echo "Depends: $(printf '%s\n' "${depends[@]}" | paste -sd, - | sed 's/,/, /g')"
		echo "Source: $url"
		echo "License: $license"
		echo "LicenseFiles: LICENSE"
		echo "Section: net"
		echo "URL: $url"
		echo "Maintainer: $maintainer"
		echo "Architecture: $arch"
		echo "Installed-Size: $installed_size"
		echo "Description: $summary"
		# shellcheck disable=SC2001 # every line of a multi-line text
		sed 's/^[[:space:]]*/ /' <<<"$description"
	} >"$control/control"
	printf '%s\n' "$conffiles" >"$control/conffiles"
	ipk_script postinst >"$control/postinst"
	ipk_script prerm >"$control/prerm"
	chmod 0644 "$control/control" "$control/conffiles"
	chmod 0755 "$control/postinst" "$control/prerm"

	tgz "$data" >"$outer/data.tar.gz"
	tgz "$control" >"$outer/control.tar.gz"
	printf '2.0\n' >"$outer/debian-binary"
	ipk=$dist/lango_${pkgversion}_${arch}.ipk
	# Outer members in the order opkg expects, not sorted.
	tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" -C "$outer" \
		-cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n >"$ipk"
	printf 'build-ipk: %-44s binary %8d bytes  package %8d bytes\n' \
		"${ipk#"$root"/}" "$(stat -c %s "$data/usr/sbin/lango")" "$(stat -c %s "$ipk")"

	# --- .apk (apk-tools 3) ---
	if [[ -z $apk_tool ]]; then
		echo "build-ipk: no apk-tools 3 (set APK, or run .ci/setup-openwrt-tools.sh): no .apk for $arch"
		continue
	fi
	files=$work/apk-files scripts=$work/apk-scripts
	cp -a "$data" "$files"
	mkdir -p "$files/lib/apk/packages" "$scripts"
	# What OpenWrt 25.12's SDK adds: the file list, the conffiles and their
	# default checksums (sysupgrade and `apk audit` tell changed configs by these).
	(cd "$files" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort) >"$work/list"
	mv "$work/list" "$files/lib/apk/packages/lango.list"
	printf '%s\n' "$conffiles" >"$files/lib/apk/packages/lango.conffiles"
	while read -r f; do
		echo "$f $(sha256sum <"$files$f" | cut -d' ' -f1)"
	done <<<"$conffiles" >"$files/lib/apk/packages/lango.conffiles_static"
	chmod 0644 "$files"/lib/apk/packages/*
	find "$files" -exec touch -h -d "@$epoch" {} +
	for s in post-install post-upgrade pre-deinstall; do
		apk_script "$s" >"$scripts/$s"
		chmod 0755 "$scripts/$s"
	done
	apk=$dist/lango-${pkgversion}_${arch}.apk
	rm -f "$apk"
	SOURCE_DATE_EPOCH=$epoch "$apk_tool" mkpkg \
		--info "name:lango" \
		--info "version:$pkgversion" \
		--info "description:$(tr -s ' \t\n' ' ' <<<"$description" | sed 's/^ //; s/ $//')" \
		--info "arch:$arch" \
		--info "license:$license" \
		--info "origin:lango" \
		--info "url:$url" \
		--info "maintainer:$maintainer" \
		--info "depends:${depends[*]}" \
		--script "post-install:$scripts/post-install" \
		--script "post-upgrade:$scripts/post-upgrade" \
		--script "pre-deinstall:$scripts/pre-deinstall" \
		--files "$files" \
		--output "$apk" || die "apk mkpkg failed for $arch"
	printf 'build-ipk: %-44s binary %8d bytes  package %8d bytes\n' \
		"${apk#"$root"/}" "$(stat -c %s "$data/usr/sbin/lango")" "$(stat -c %s "$apk")"
done
