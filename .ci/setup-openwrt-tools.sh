#!/usr/bin/env bash
# Builds OpenWrt's real uci, opkg and apk from the source archives the team keeps beside the
# repository (../shared/third_party), once, into ~/.cache/openwrt-tools; tests find them there
# (or through LANGO_UCI). Where those archives are absent the tests that need the tools say so.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$HOME/.cache/openwrt-tools
build=../shared/third_party/build.sh
if [ -x "$prefix/bin/uci" ] && [ -x "$prefix/bin/opkg" ] && [ -x "$prefix/bin/apk" ]; then
	exit 0
fi
if [ ! -x "$build" ]; then
	echo "setup-openwrt-tools: $build not found; tests that need OpenWrt's uci will say SKIPPED"
	exit 0
fi
echo "setup-openwrt-tools: building uci, opkg and apk into $prefix"
"$build" "$prefix" >/dev/null
