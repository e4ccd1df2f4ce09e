#!/usr/bin/env bash
# Packaging tests: builds the .ipk and .apk files with scripts/build-ipk.sh (one release build
# per architecture: x86_64, aarch64, mipsel_24kc, ARMv7) and checks them the way opkg, apk and
# an OpenWrt router would use them.
#   1. the default config has the sections Lango reads (its options: config::options tests);
#   2. the SDK Makefile keeps the packages feed's conventions (version, license files, source,
#      maintainer) and installs what the static packages hold;
#   3. shellcheck on the init script, uci-defaults, postinst, prerm and the build scripts;
#   4. the init script, uci-defaults, postinst and prerm run under busybox ash against stubbed
#      rc.common/procd/uci functions (tests/packaging/openwrt_stubs.sh);
#   5. each .ipk unpacked: outer layout, control fields, conffiles, file modes and owners, a
#      static binary of the right machine; a rebuild is byte-identical;
#   6. every binary runs, under qemu-user for the foreign ones: --version, check, and `lango
#      demo` answering a captive-portal probe, the portal page and a voucher through the API
#      (tests/packaging/run_binaries.sh);
#   7. each .ipk installed with OpenWrt's opkg and each .apk with apk-tools 3 into an offline
#      root, then removed, and an upgrade to the next release over a changed config
#      (tests/packaging/install_packages.sh); where .ci/setup-openwrt-tools.sh
#      cannot build those tools (no source archives) these say SKIPPED, in CI they fail;
#   8. sizes per architecture and format, against the budgets (aarch64: binary <= 4 MiB,
#      ipk <= 2 MiB; mipsel: binary <= 4.5 MB, ipk and apk <= 2.3 MB).
# Ends with "packaging: N passed, N failed[, N skipped]"; exits non-zero if anything failed.
# shellcheck disable=SC2016 # single-quoted $... here is code for busybox ash or sed, not for bash.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
pkgfiles=openwrt-package/lango/files
stubs=$root/tests/packaging/openwrt_stubs.sh
arches=(x86_64 aarch64_cortex-a53 aarch64_generic mipsel_24kc arm_cortex-a7_neon-vfpv4)
max_binary=$((4 * 1024 * 1024))
max_ipk=$((2 * 1024 * 1024))
# MT7621 routers often have 16 MB of NOR flash for firmware and packages together.
max_mipsel_binary=4500000
max_mipsel_package=2300000

passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "  ok    $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "  SKIP  $*"; }
# expect DESCRIPTION COMMAND...: passes when COMMAND succeeds.
expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
section() { echo; echo "== $*"; }
has() { grep -qxF -- "$2" "$1"; }
lacks() { ! grep -q -- "$2" "$1"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash .ci/setup-packaging.sh
bash .ci/setup-openwrt-tools.sh
# shellcheck source=tests/packaging/run_binaries.sh
. "$root/tests/packaging/run_binaries.sh"
# shellcheck source=tests/packaging/install_packages.sh
. "$root/tests/packaging/install_packages.sh"

version=$(sed -n '/^\[package\]/,/^\[/ s/^version *= *"\(.*\)"$/\1/p' Cargo.toml | head -n 1)

section "default config"
# Every option is documented in it: checked by config::options's unit tests.
for s in "lango 'main'" "daraja 'daraja'" "shaping 'shaping'"; do
	expect "lango.config has section config $s" grep -qx "config $s" "$pkgfiles/lango.config"
done
expect "keep.d keeps the default database directory" grep -qx /etc/lango/ "$pkgfiles/lango.keep"
expect "keep.d keeps /etc/config/lango" grep -qx /etc/config/lango "$pkgfiles/lango.keep"
expect "init.d/lango is a link to the one init script" \
	test "$(readlink init.d/lango)" = ../openwrt-package/lango/files/lango.init

section "SDK Makefile keeps the packages feed's conventions"
mk=openwrt-package/lango/Makefile
# Its PKG_* lines evaluated by make, as the SDK reads them.
grep -E '^PKG_[A-Z_]+:=' "$mk" >"$tmp/vars.mk"
echo 'all: ; @$(foreach v,$(filter PKG_%,$(.VARIABLES)),echo "$(v)=$($(v))";)' >>"$tmp/vars.mk"
make -s -f "$tmp/vars.mk" >"$tmp/vars" 2>&1 || bad "make evaluates the Makefile's PKG_ lines ($(head -n 1 "$tmp/vars"))"
var() { sed -n "s/^$1=//p" "$tmp/vars"; }
expect "PKG_VERSION is Cargo.toml's version ($version), written out (no \$(shell ...))" \
	test "$(var PKG_VERSION)" = "$version" -a -z "$(grep '^PKG_VERSION:=.*\$(shell' "$mk")"
expect "PKG_RELEASE is a number" grep -qE '^[0-9]+$' <<<"$(var PKG_RELEASE)"
expect "PKG_LICENSE is Cargo.toml's ($(var PKG_LICENSE))" grep -qx "license = \"$(var PKG_LICENSE)\"" Cargo.toml
expect "PKG_LICENSE_FILES ($(var PKG_LICENSE_FILES)) exist in the repository" \
	test -n "$(var PKG_LICENSE_FILES)" -a -f "$(var PKG_LICENSE_FILES)"
expect "LICENSE is the MIT license" grep -q '^MIT License$' LICENSE
expect "PKG_MAINTAINER is 'Name <email>'" grep -qE '^[^<>]+ <[^<>@ ]+@[^<>@ ]+>$' <<<"$(var PKG_MAINTAINER)"
expect "PKG_SOURCE is \$(PKG_NAME)-\$(PKG_VERSION).tar.gz" test "$(var PKG_SOURCE)" = "lango-$version.tar.gz"
expect "PKG_SOURCE_URL downloads tag v\$(PKG_VERSION) of Cargo.toml's repository" \
	grep -q "lango-hotspot/lango/tar.gz/v$version?\$" <<<"$(var PKG_SOURCE_URL)"
expect "PKG_HASH is a sha256 or skip (before the release tag)" grep -qE '^([0-9a-f]{64}|skip)$' <<<"$(var PKG_HASH)"
expect "PKG_BUILD_DEPENDS is rust/host" test "$(var PKG_BUILD_DEPENDS)" = rust/host
expect "no Build/Prepare of its own (patches/ apply; checkouts build with USE_SOURCE_DIR)" \
	lacks "$mk" "^define Build/Prepare"
expect "includes the feed's rust-package.mk" grep -q '^include .*/lang/rust/rust-package.mk$' "$mk"
expect "DEPENDS starts with \$(RUST_ARCH_DEPENDS)" grep -q 'DEPENDS:=\$(RUST_ARCH_DEPENDS) ' "$mk"
expect "the Cargo features variable, if any, is RUST_PKG_FEATURES" lacks "$mk" "CARGO_PKG_FEATURES\|RUST_FEATURES"
expect "conffiles lists /etc/config/lango" test "$(awk '/^define Package\/lango\/conffiles/ { on = 1; next } on && /^endef/ { exit } on' "$mk")" = /etc/config/lango
while read -r f; do
	expect "Makefile installs existing ${f#./}" test -f "openwrt-package/lango/$f"
done < <(grep -o '\./files/[^ ]*' "$mk")

section "shellcheck"
# The init script is sourced by /etc/rc.common (its first line says so): check it as sh.
# The two warnings that structure forces are disabled inside it, each with its reason.
for f in "$pkgfiles/lango.init" "$pkgfiles/lango.uci-defaults" tests/packaging/openwrt_stubs.sh; do
	expect "shellcheck -s sh $f" shellcheck -s sh "$f"
done
for f in scripts/build-ipk.sh .ci/setup-packaging.sh .ci/setup-openwrt-tools.sh tests/packaging.sh \
	tests/packaging/run_binaries.sh tests/packaging/install_packages.sh; do
	expect "shellcheck $f" shellcheck -x "$f"
done

section "init script under busybox ash with stubbed procd"
cat >"$tmp/lango" <<'SH'
#!/bin/sh
# Fake lango for the init script: `check` fails when FAKE_LANGO_BAD is set.
[ "$1" = check ] || exit 64
[ -z "$FAKE_LANGO_BAD" ] && exit 0
echo '/etc/config/lango:7: option portal_port: "20x0" is not a port number (1-65535)'
exit 2
SH
chmod +x "$tmp/lango"

# run_init LOG UCI-LINES COMMANDS: sources the stubs and the init script in busybox ash, with a
# config holding UCI-LINES, then runs COMMANDS (the functions rc.common would call).
run_init() {
	local log=$1 uci=$2 cmds=$3
	printf '%s\n' "$uci" >"$tmp/uci"
	: >"$log"
	STUB_LOG=$log STUB_UCI=$tmp/uci STUB_PID=4242 STUBS=$stubs INIT=$pkgfiles/lango.init \
		FAKE=$tmp/lango busybox ash -c '
			. "$STUBS"
			. "$INIT"
			stub_log PROG "$PROG"
			PROG=$FAKE
			'"$cmds"
}
# The procd_open_data ... procd_close_data block of LOG equals the rest of the arguments.
data_block_is() {
	local log=$1
	shift
	[[ $(sed -n '/^procd_open_data/,/^procd_close_data/p' "$log") == "$(printf '%s\n' "$@")" ]]
}
line_of() { grep -nxF -- "$2" "$1" | head -n 1 | cut -d: -f1; }
in_order() { # LOG LINE...: each line present, in this order
	local log=$1 prev=0 n
	shift
	for l in "$@"; do
		n=$(line_of "$log" "$l")
		[[ -n $n && $n -gt $prev ]] || return 1
		prev=$n
	done
}
rule() { # the firewall data for one captive interface
	printf '%s\n' "json_add_object []" "json_add_string [type] [rule]" "json_add_string [src] [*]" \
		"json_add_string [device] [$1]" "json_add_string [proto] [tcp]" \
		"json_add_string [dest_port] [$2]" "json_add_string [target] [ACCEPT]" "json_close_object"
}

log=$tmp/start.log
if run_init "$log" "" 'start_service; echo "rc=$?" >>"$STUB_LOG"'; then
	expect "init: PROG is /usr/sbin/lango" has "$log" "PROG [/usr/sbin/lango]"
	expect "init: start_service succeeds" has "$log" "rc=0"
	expect "init: instance runs 'lango run --config /etc/config/lango'" \
		in_order "$log" "procd_open_instance" \
		"procd_set_param [command] [$tmp/lango] [run] [--config] [/etc/config/lango]" "procd_close_instance"
	expect "init: respawn forever, 2 s apart" has "$log" "procd_set_param [respawn] [3600] [2] [0]"
	expect "init: stdout to logd" has "$log" "procd_set_param [stdout] [1]"
	expect "init: stderr to logd" has "$log" "procd_set_param [stderr] [1]"
	expect "init: file /etc/config/lango" has "$log" "procd_set_param [file] [/etc/config/lango]"
	expect "init: config change sends HUP" has "$log" "procd_set_param [reload_signal] [HUP]"
	expect "init: creates the database directory" has "$log" "mkdir [-p] [/etc/lango]"
	expect "init: fw4 rule for br-lan:2050 in procd data" data_block_is "$log" \
		"procd_open_data" "json_add_array [firewall]" "$(rule br-lan 2050)" "json_close_array" "procd_close_data"
else
	bad "init: start_service ran under busybox ash"
fi

log=$tmp/start2.log
run_init "$log" "lango.main.interface=br-lan guest0
lango.main.portal_port=8000
lango.main.database=/srv/lango/db.sqlite" 'start_service' || true
expect "init: one fw4 rule per configured interface and port" data_block_is "$log" \
	"procd_open_data" "json_add_array [firewall]" "$(rule br-lan 8000)" "$(rule guest0 8000)" \
	"json_close_array" "procd_close_data"
expect "init: creates the configured database directory" has "$log" "mkdir [-p] [/srv/lango]"

log=$tmp/badstart.log
FAKE_LANGO_BAD=1 run_init "$log" "" 'start_service 2>/dev/null; echo "rc=$?" >>"$STUB_LOG"' || true
expect "init: a broken config is not started" has "$log" "rc=1"
expect "init: ... and registers no instance" lacks "$log" "procd_open_instance"
expect "init: ... and logs the checker's message" grep -q '^logger .*/etc/config/lango:7: option portal_port' "$log"

log=$tmp/triggers.log
run_init "$log" "" 'service_triggers; service_started' || true
expect "init: reload trigger on config lango" has "$log" "procd_add_reload_trigger [lango]"
expect "init: started service tells fw4" has "$log" "procd_set_config_changed [firewall]"

log=$tmp/reload.log
run_init "$log" "" 'reload_service' || true
expect "init: reload re-registers the instance (procd then sends HUP)" has "$log" "start"
log=$tmp/badreload.log
FAKE_LANGO_BAD=1 run_init "$log" "" 'reload_service 2>/dev/null; echo "rc=$?" >>"$STUB_LOG"' || true
expect "init: reload with a broken config keeps the running daemon" lacks "$log" "^start"
expect "init: ... and fails" has "$log" "rc=1"

log=$tmp/stop.log
run_init "$log" "lango.main.interface=br-lan guest0" 'stop_service; service_stopped' || true
expect "init: stop waits for the daemon's pid" has "$log" "kill [-0] [4242]"
expect "init: stop removes table inet lango" has "$log" "nft [delete] [table] [inet] [lango]"
for dev in br-lan guest0; do
	expect "init: stop removes root qdisc on $dev" has "$log" "tc [qdisc] [del] [dev] [$dev] [root]"
	expect "init: stop removes ingress qdisc on $dev" has "$log" "tc [qdisc] [del] [dev] [$dev] [ingress]"
done
expect "init: stop removes ifb-lango" has "$log" "ip [link] [del] [ifb-lango]"
expect "init: stopped service tells fw4" has "$log" "procd_set_config_changed [firewall]"
expect "init: kernel state is removed after the daemon is gone" \
	in_order "$log" "kill [-0] [4242]" "nft [delete] [table] [inet] [lango]"
log=$tmp/stop-noshaping.log
run_init "$log" "lango.shaping.enabled=0" 'stop_service; service_stopped' || true
expect "init: with shaping off, stop leaves qdiscs alone" lacks "$log" "^tc "
expect "init: with shaping off, stop still removes the nft table" has "$log" "nft [delete] [table] [inet] [lango]"

section "uci-defaults under busybox ash with stubbed uci"
# run_defaults LOG UCI-LINES [ENV...]: runs 90-lango the way /etc/init.d/boot does (sourced in a subshell).
run_defaults() {
	local log=$1 uci=$2
	shift 2
	printf '%s\n' "$uci" >"$tmp/uci"
	: >"$log"
	env STUB_LOG="$log" STUB_UCI="$tmp/uci" STUBS="$stubs" SCRIPT="$root/$pkgfiles/lango.uci-defaults" "$@" \
		busybox ash -c '. "$STUBS"; ( . "$SCRIPT" ); echo "rc=$?" >>"$STUB_LOG"'
}
router_uci='dhcp.@dnsmasq[0]=dnsmasq
dhcp.lan=dhcp
network.lan.ipaddr=192.168.8.1/24
lango.main=lango'
run_defaults "$tmp/d1.log" "$router_uci" SSH_CLIENT= >/dev/null
expect "uci-defaults: exits 0" has "$tmp/d1.log" "rc=0"
expect "uci-defaults: DHCP option 114 points at the RFC 8908 API" \
	has "$tmp/uci" "dhcp.lan.dhcp_option=114,http://192.168.8.1:2050/captive-portal/api"
expect "uci-defaults: no SSH client, nobody trusted" lacks "$tmp/uci" "lango.main.trusted"
run_defaults "$tmp/d2.log" "$(cat "$tmp/uci")" SSH_CLIENT= >/dev/null
expect "uci-defaults: a second run adds no second option 114" \
	test "$(grep -o '114,' "$tmp/uci" | wc -l)" = 1
run_defaults "$tmp/d3.log" "$router_uci
lango.main.portal_port=8000" SSH_CLIENT="192.168.8.20 50522 22" \
	STUB_NEIGH="192.168.8.20 dev br-lan lladdr AA:BB:CC:00:11:22 REACHABLE" >/dev/null
expect "uci-defaults: option 114 uses the configured portal port" \
	has "$tmp/uci" "dhcp.lan.dhcp_option=114,http://192.168.8.1:8000/captive-portal/api"
expect "uci-defaults: trusts the installing SSH client's MAC" has "$tmp/uci" "lango.main.trusted=aa:bb:cc:00:11:22"
run_defaults "$tmp/d4.log" "lango.main=lango" SSH_CLIENT= >/dev/null
expect "uci-defaults: without dnsmasq, touches no DHCP option" lacks "$tmp/d4.log" "add_list"
expect "uci-defaults: without dnsmasq, still exits 0" has "$tmp/d4.log" "rc=0"

section "build the packages"
start=$SECONDS
APK=$apk_tool scripts/build-ipk.sh "${arches[@]}"
echo "  (built in $((SECONDS - start)) s)"
ipk_of() { echo "dist/lango_${version}-r1_$1.ipk"; }
apk_of() { echo "dist/lango-${version}-r1_$1.apk"; }
for arch in "${arches[@]}"; do
	expect "$(ipk_of "$arch") exists" test -s "$(ipk_of "$arch")"
done
have_apk=1
tool_missing apk "$apk_tool" && have_apk=
if [[ -n $have_apk ]]; then
	for arch in "${arches[@]}"; do
		expect "$(apk_of "$arch") exists" test -s "$(apk_of "$arch")"
	done
fi

section "rebuild is byte-identical"
APK=$apk_tool DIST=$tmp/dist2 scripts/build-ipk.sh "${arches[@]}" >/dev/null 2>&1
for arch in "${arches[@]}"; do
	for f in "$(ipk_of "$arch")" ${have_apk:+"$(apk_of "$arch")"}; do
		expect "${f#dist/} reproducible" cmp -s "$f" "$tmp/dist2/${f#dist/}"
	done
done

# Files the SDK Makefile installs, as paths inside the package.
sdk_installs=$(grep -v '$(INSTALL_DIR)' openwrt-package/lango/Makefile | sed -n 's/.*\$(1)\(\/[^ ]*\)$/\1/p' | sort)

for arch in "${arches[@]}"; do
	ipk=$root/dist/lango_${version}-r1_${arch}.ipk
	section "unpack $(basename "$ipk")"
	u=$tmp/unpack-$arch
	mkdir -p "$u/data" "$u/control"
	expect "outer archive is gzip" gzip -t "$ipk"
	expect "outer archive is a GNU tar, not ar" \
		test "$(gzip -dc "$ipk" | head -c 265 | tail -c 8 | od -An -c | tr -d ' ')" = 'ustar\0'
	expect "outer members are ./debian-binary ./data.tar.gz ./control.tar.gz, in that order" \
		test "$(tar -tzf "$ipk" | paste -sd' ' -)" = "./debian-binary ./data.tar.gz ./control.tar.gz"
	tar -xzf "$ipk" -C "$u"
	expect "debian-binary is 2.0" test "$(cat "$u/debian-binary")" = "2.0"
	tar -xzf "$u/data.tar.gz" -C "$u/data"
	tar -xzf "$u/control.tar.gz" -C "$u/control"

	expect "control.tar.gz holds control conffiles postinst prerm" \
		test "$(tar -tzf "$u/control.tar.gz" | grep -v '/$' | sort | paste -sd' ' -)" = "./conffiles ./control ./postinst ./prerm"
	for m in postinst prerm; do
		expect "$m is 0755" test "$(tar -tvzf "$u/control.tar.gz" "./$m" | cut -c1-10)" = "-rwxr-xr-x"
	done
	expect "all members are owned by 0/0" \
		test -z "$( (tar -tvzf "$u/control.tar.gz"; tar -tvzf "$u/data.tar.gz") | awk '$2 != "0/0"')"

	c=$u/control/control
	field() { sed -n "s/^$1: //p" "$c"; }
	for f in Package Version Depends Source License Section URL Maintainer Architecture Installed-Size Description; do
		expect "control has $f" test -n "$(field "$f")"
	done
	expect "Package is lango" test "$(field Package)" = lango
	expect "Version is $version-r1 (x.y.z-rN)" test "$(field Version)" = "$version-r1"
	expect "Architecture is $arch" test "$(field Architecture)" = "$arch"
	expect "Section is net" test "$(field Section)" = net
	expect "License is Cargo.toml's" grep -qx "license = \"$(field License)\"" Cargo.toml
	depends=$(field Depends)
	for d in kmod-sched-core kmod-ifb tc nftables conntrack ca-bundle; do
		expect "Depends has $d" grep -qE "(^|, )$d(,|$)" <<<"$depends"
	done
	expect "Depends has no libc (static binary)" lacks "$c" "^Depends:.*libc"
	size=$(find "$u/data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	expect "Installed-Size ($(field Installed-Size)) is the data's bytes ($size)" test "$(field Installed-Size)" = "$size"
	expect "Description continues on indented lines" grep -q '^ Lango' "$c"
	expect "conffiles is /etc/config/lango" test "$(cat "$u/control/conffiles")" = /etc/config/lango

	mode() { tar -tvzf "$u/data.tar.gz" "./$1" | cut -c1-10; }
	expect "usr/sbin/lango is 0755" test "$(mode usr/sbin/lango)" = "-rwxr-xr-x"
	expect "etc/init.d/lango is 0755" test "$(mode etc/init.d/lango)" = "-rwxr-xr-x"
	expect "etc/config/lango is 0600 (Daraja secrets)" test "$(mode etc/config/lango)" = "-rw-------"
	expect "etc/uci-defaults/90-lango is 0755" test "$(mode etc/uci-defaults/90-lango)" = "-rwxr-xr-x"
	expect "lib/upgrade/keep.d/lango is 0644" test "$(mode lib/upgrade/keep.d/lango)" = "-rw-r--r--"
	expect "packaged init script is lango.init" cmp -s "$u/data/etc/init.d/lango" "$pkgfiles/lango.init"
	expect "packaged config is lango.config" cmp -s "$u/data/etc/config/lango" "$pkgfiles/lango.config"
	expect "packaged uci-defaults is lango.uci-defaults" cmp -s "$u/data/etc/uci-defaults/90-lango" "$pkgfiles/lango.uci-defaults"
	expect "packaged keep.d is lango.keep" cmp -s "$u/data/lib/upgrade/keep.d/lango" "$pkgfiles/lango.keep"
	expect "data holds exactly what the SDK Makefile installs" \
		test "$(cd "$u/data" && find . -type f | sed 's/^\.//' | sort)" = "$sdk_installs"
	desc=$(file -b "$u/data/usr/sbin/lango")
	expect "usr/sbin/lango is statically linked ($desc)" grep -q "statically linked" <<<"$desc"
	expect "usr/sbin/lango is stripped" grep -q ", stripped" <<<"$desc"
	case $arch in
	x86_64) expect "usr/sbin/lango is x86-64" grep -q "x86-64" <<<"$desc" ;;
	aarch64_*) expect "usr/sbin/lango is aarch64" grep -q "ARM aarch64" <<<"$desc" ;;
	mipsel_24kc) expect "usr/sbin/lango is 32-bit little-endian MIPS32 rel2 (24Kc)" \
		grep -q "32-bit LSB executable, MIPS, MIPS32 rel2" <<<"$desc" ;;
	arm_*) expect "usr/sbin/lango is 32-bit ARM EABI5, hard float" \
		grep -q "32-bit LSB executable, ARM, EABI5" <<<"$desc" ;;
	esac

	for m in postinst prerm; do
		expect "shellcheck -s sh $m" shellcheck -s sh "$u/control/$m"
	done
	# postinst/prerm hand over to the router's default_postinst/default_prerm (base-files).
	fakeroot=$u/instroot
	mkdir -p "$fakeroot/lib"
	cat >"$fakeroot/lib/functions.sh" <<'SH'
default_postinst() { echo "default_postinst $*" >>"$IPKG_INSTROOT/calls"; }
default_prerm() { echo "default_prerm $*" >>"$IPKG_INSTROOT/calls"; }
SH
	IPKG_INSTROOT=$fakeroot busybox ash "$u/control/postinst" configure
	IPKG_INSTROOT=$fakeroot busybox ash "$u/control/prerm" remove
	IPKG_INSTROOT=$fakeroot IPKG_NO_SCRIPT=1 busybox ash "$u/control/postinst" configure
	expect "postinst calls default_postinst with its path" has "$fakeroot/calls" "default_postinst $u/control/postinst configure"
	expect "prerm calls default_prerm with its path" has "$fakeroot/calls" "default_prerm $u/control/prerm remove"
	expect "postinst does nothing under IPKG_NO_SCRIPT=1" test "$(grep -c default_postinst "$fakeroot/calls")" = 1
done

section "run the binaries (qemu-user for the foreign ones)"
# One run per distinct binary: the aarch64_* packages hold the same one.
declare -A ran=()
for arch in "${arches[@]}"; do
	bin=$tmp/unpack-$arch/data/usr/sbin/lango
	sum=$(sha256sum <"$bin")
	[[ -z ${ran[$sum]:-} ]] || { echo "  ($arch: the same binary as ${ran[$sum]})"; continue; }
	ran[$sum]=$arch
	run_binary "$arch" "$arch" "$bin"
done

section "install with OpenWrt's opkg (24.10) and apk (25.12) into offline roots"
for arch in "${arches[@]}"; do
	opkg_checks "$arch" "$root/$(ipk_of "$arch")"
	if [[ -n $have_apk ]]; then apk_checks "$arch" "$root/$(apk_of "$arch")"; fi
done

section "upgrade in place, r1 to r2 (x86_64)"
PKG_RELEASE=2 APK=$apk_tool DIST=$tmp/dist-r2 scripts/build-ipk.sh x86_64 >/dev/null 2>&1 ||
	bad "scripts/build-ipk.sh builds release 2 (PKG_RELEASE=2)"
upgrade_checks x86_64 "$root/$(ipk_of x86_64)" "$tmp/dist-r2/lango_${version}-r2_x86_64.ipk" \
	${have_apk:+"$root/$(apk_of x86_64)" "$tmp/dist-r2/lango-${version}-r2_x86_64.apk"}

section "sizes"
size() { stat -c %s "$1"; }
printf '  %-26s %10s %10s %10s\n' architecture binary ipk apk
for arch in "${arches[@]}"; do
	printf '  %-26s %10d %10d %10s\n' "$arch" "$(size "$tmp/unpack-$arch/data/usr/sbin/lango")" \
		"$(size "$(ipk_of "$arch")")" "$([[ -n $have_apk ]] && size "$(apk_of "$arch")" || echo -)"
done
bin=$tmp/unpack-aarch64_cortex-a53/data/usr/sbin/lango
expect "aarch64 stripped binary <= 4 MiB" test "$(size "$bin")" -le "$max_binary"
expect "aarch64 ipk <= 2 MiB" test "$(size "$(ipk_of aarch64_cortex-a53)")" -le "$max_ipk"
bin=$tmp/unpack-mipsel_24kc/data/usr/sbin/lango
expect "mipsel stripped binary <= 4.5 MB ($(size "$bin"))" test "$(size "$bin")" -le "$max_mipsel_binary"
expect "mipsel ipk <= 2.3 MB ($(size "$(ipk_of mipsel_24kc)"))" \
	test "$(size "$(ipk_of mipsel_24kc)")" -le "$max_mipsel_package"
if [[ -n $have_apk ]]; then
	expect "mipsel apk <= 2.3 MB ($(size "$(apk_of mipsel_24kc)"))" \
		test "$(size "$(apk_of mipsel_24kc)")" -le "$max_mipsel_package"
fi
if [[ -s $tmp/demo-start-ms ]]; then
	echo "  demo start (ms, until it printed its banner): $(paste -sd' ' "$tmp/demo-start-ms")"
fi

echo
echo "packaging: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
