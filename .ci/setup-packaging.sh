#!/usr/bin/env bash
# Installs what scripts/build-ipk.sh and tests/packaging.sh need: the musl Rust targets, the
# nightly that scripts/build-ipk.sh pins (with rust-src, for -Zbuild-std on aarch64, mipsel and ARMv7,
# and llvm-tools),
# zig + cargo-zigbuild (PyPI), qemu-user-static, shellcheck, busybox, file and curl (Debian).
# Idempotent: each step is skipped when its tool is already there, so a warm machine pays ~1 s.
set -euo pipefail

# Pinned so builds are repeatable; bump together.
ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.0

need_apt=()
for q in qemu-aarch64-static qemu-mipsel-static qemu-arm-static; do
	command -v "$q" >/dev/null || { need_apt+=(qemu-user-static); break; }
done
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
command -v busybox >/dev/null || need_apt+=(busybox)
command -v file >/dev/null || need_apt+=(file)
command -v curl >/dev/null || need_apt+=(curl)
if ((${#need_apt[@]})); then
	echo "setup-packaging: apt-get install ${need_apt[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

installed_targets=$(rustup target list --installed)
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
	if ! grep -qx "$t" <<<"$installed_targets"; then
		echo "setup-packaging: rustup target add $t"
		rustup target add "$t"
	fi
done

# The nightly is named once, in scripts/build-ipk.sh.
nightly=$(sed -n 's/^NIGHTLY="\(nightly-[0-9-]*\)"$/\1/p' "$(dirname "$0")/../scripts/build-ipk.sh")
[[ -n $nightly ]] || { echo "setup-packaging: no NIGHTLY=\"nightly-YYYY-MM-DD\" line in scripts/build-ipk.sh" >&2; exit 1; }
# rust-src for -Zbuild-std, llvm-tools for llvm-objcopy (the mipsel binary's .pdr section).
components=$(rustup component list --toolchain "$nightly" --installed 2>/dev/null || true)
if ! grep -qx rust-src <<<"$components" || ! grep -q '^llvm-tools' <<<"$components"; then
	echo "setup-packaging: rustup toolchain install $nightly --profile minimal --component rust-src,llvm-tools"
	rustup toolchain install "$nightly" --profile minimal --component rust-src,llvm-tools
fi

have=$(python3 -c 'import importlib.metadata as m
for p in ("ziglang", "cargo-zigbuild"):
    try: print(p, m.version(p))
    except m.PackageNotFoundError: print(p, "none")' | paste -sd' ' -)
if [[ $have != "ziglang $ZIGLANG_VERSION cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]]; then
	echo "setup-packaging: pip install ziglang==$ZIGLANG_VERSION cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
	python3 -m pip install -q --disable-pip-version-check \
		"ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
fi
# pyenv shims may need a rehash before a new console script is on PATH.
command -v cargo-zigbuild >/dev/null || { command -v pyenv >/dev/null && pyenv rehash; }
command -v cargo-zigbuild >/dev/null || { echo "setup-packaging: cargo-zigbuild not on PATH" >&2; exit 1; }
