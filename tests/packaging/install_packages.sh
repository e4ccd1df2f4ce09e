# shellcheck shell=bash
# Installs each package with OpenWrt's real package manager into an offline root, as the image
# builder and a router do: the .ipk with opkg (opkg-lede, OpenWrt 24.10), the .apk with apk
# (apk-tools 3, OpenWrt 25.12). Checks files, modes, conffiles, that the maintainer scripts
# call base-files' default_postinst/default_prerm, and what removal leaves: a changed config
# stays, an unchanged one goes (docs/install.md says so). The tools come from
# .ci/setup-openwrt-tools.sh (~/.cache/openwrt-tools/bin) or LANGO_OPKG / LANGO_APK.
# Sourced by tests/packaging.sh, whose ok/bad/skip/expect, $tmp, $root and $pkgfiles it uses;
# defines opkg_checks, apk_checks and upgrade_checks.
# shellcheck disable=SC2154 # tmp, root and pkgfiles come from tests/packaging.sh

tools=$HOME/.cache/openwrt-tools/bin
opkg_tool=${LANGO_OPKG:-$tools/opkg}
apk_tool=${LANGO_APK:-$tools/apk}

# tool_missing NAME PATH: true (after a SKIP line, or a FAIL in CI where the source archives
# .ci/setup-openwrt-tools.sh builds from are present) when the tool is not there.
tool_missing() {
	[[ -x $2 ]] && return 1
	local why="needs OpenWrt's $1 at $2 (.ci/setup-openwrt-tools.sh builds it)"
	if [[ ${LANGO_CI:-} == 1 && -d $root/../shared/third_party ]]; then
		bad "$why"
	else
		skip "SKIPPED: $why"
	fi
	return 0
}

# The base-files function library a router has, reduced to a record of the calls. The scripts
# find it through IPKG_INSTROOT, as in an image build.
stub_functions() { # ROOT
	mkdir -p "$1/lib"
	cat >"$1/lib/functions.sh" <<'SH'
# Test stand-in for OpenWrt's /lib/functions.sh: records what the package's scripts call.
default_postinst() { echo "default_postinst root=${root:-} pkgname=${pkgname:-} args=$*" >>"$IPKG_INSTROOT/calls"; }
default_prerm() { echo "default_prerm root=${root:-} pkgname=${pkgname:-} args=$*" >>"$IPKG_INSTROOT/calls"; }
add_group_and_user() { echo "add_group_and_user" >>"$IPKG_INSTROOT/calls"; }
SH
}

# succeeded WHAT EXIT-STATUS OUTPUT: ok when the status is 0, else FAIL with the output's end
# and a non-zero return.
succeeded() {
	if [[ $2 == 0 ]]; then
		ok "$1 exits 0"
	else
		bad "$1 exits 0 (exit $2: $(tail -n 3 <<<"$3" | tr '\n' ' '))"
		return 1
	fi
}

# mode_is ROOT PATH MODE: the installed file has octal MODE.
mode_is() { test "$(stat -c %a "$1$2")" = "$3"; }

# The files, modes and contents every install must give.
installed_files_ok() { # LABEL ROOT
	local label=$1 r=$2
	expect "$label: /usr/sbin/lango 0755" mode_is "$r" /usr/sbin/lango 755
	expect "$label: /etc/init.d/lango 0755" mode_is "$r" /etc/init.d/lango 755
	expect "$label: /etc/config/lango 0600 (Daraja secrets)" mode_is "$r" /etc/config/lango 600
	expect "$label: /etc/uci-defaults/90-lango 0755" mode_is "$r" /etc/uci-defaults/90-lango 755
	expect "$label: /lib/upgrade/keep.d/lango 0644" mode_is "$r" /lib/upgrade/keep.d/lango 644
	expect "$label: /etc/config/lango is the default config" cmp -s "$r/etc/config/lango" "$pkgfiles/lango.config"
	expect "$label: /etc/init.d/lango is the init script" cmp -s "$r/etc/init.d/lango" "$pkgfiles/lango.init"
}

# remove_keeps_changed_config LABEL ROOT REMOVE-COMMAND...: the owner changes the config, then
# the package is removed: the command succeeds, the binary goes, the changed config stays.
remove_keeps_changed_config() {
	local label=$1 r=$2 out rc=0
	shift 2
	echo "	option site_name 'Mama Mboga Wi-Fi'" >>"$r/etc/config/lango" || true
	out=$("$@" 2>&1) || rc=$?
	succeeded "$label: remove" "$rc" "$out" || true
	expect "$label: remove takes the binary" test ! -e "$r/usr/sbin/lango"
	expect "$label: remove keeps a changed /etc/config/lango" grep -q "Mama Mboga" "$r/etc/config/lango"
}

# The dependency names of ARCH's package, one a line.
depends_of() { sed -n 's/^Depends: //p' "$tmp/unpack-$1/control/control" | tr -d ',' | tr ' ' '\n'; }

# opkg_root ARCH DIR: a scratch root at DIR with the stub functions.sh and an opkg config; sets
# the caller's r and opkg (the command as OpenWrt's image builder calls it: in an offline root
# scripts run only with --force-postinstall). Its dependencies are declared when DEPS=1.
opkg_root() {
	r=$2
	mkdir -p "$r/usr/lib/opkg/info" "$r/tmp" "$r/var/lock"
	stub_functions "$r"
	printf 'dest root /\nlists_dir ext /var/opkg-lists\narch all 100\narch %s 200\n' "$1" >"$r.conf"
	opkg=(env IPKG_INSTROOT="$r" TMPDIR="$r/tmp" "$opkg_tool" --offline-root "$r" --conf "$r.conf"
		--force-postinstall)
	[[ ${DEPS:-} == 1 ]] || return 0
	# What the firmware already has or opkg would fetch, declared installed (an offline root
	# has no feed): without these opkg refuses the package.
	local d
	for d in $(depends_of "$1"); do
		printf 'Package: %s\nVersion: 1\nStatus: install user installed\nArchitecture: %s\n\n' "$d" "$1"
		: >"$r/usr/lib/opkg/info/$d.list"
	done >"$r/usr/lib/opkg/status"
}

# opkg_checks ARCH IPK
opkg_checks() {
	local arch=$1 ipk=$2 r out rc
	local -a opkg
	tool_missing opkg "$opkg_tool" && return
	opkg_root "$arch" "$tmp/opkg-root-$arch"
	# Before `opkg update` a router knows none of the dependencies: opkg refuses, with a
	# misleading last line, and --force-depends does not help (docs/install.md says so).
	out=$("${opkg[@]}" --force-depends install "$ipk" 2>&1) || true
	expect "opkg $arch: without the dependencies known, refuses even with --force-depends" \
		test ! -e "$r/usr/sbin/lango" -a "${out#*cannot find dependency kmod-ifb for lango}" != "$out" \
		-a "${out#*incompatible with the architectures configured}" != "$out"
	DEPS=1 opkg_root "$arch" "$r"
	# The image builder installs with IPKG_NO_SCRIPT=1, then runs each postinst itself.
	rc=0
	out=$(IPKG_NO_SCRIPT=1 "${opkg[@]}" install "$ipk" 2>&1) || rc=$?
	succeeded "opkg $arch: install" "$rc" "$out" || return 0
	installed_files_ok "opkg $arch" "$r"
	expect "opkg $arch: status says lango $version-r1 installed" \
		grep -qx "Version: $version-r1" <(sed -n '/^Package: lango$/,/^$/p' "$r/usr/lib/opkg/status")
	expect "opkg $arch: conffiles recorded" grep -qx /etc/config/lango "$r/usr/lib/opkg/info/lango.conffiles"
	expect "opkg $arch: postinst does nothing under IPKG_NO_SCRIPT=1" test ! -e "$r/calls"
	(cd "$r" && IPKG_INSTROOT=$r bash ./usr/lib/opkg/info/lango.postinst) || true
	expect "opkg $arch: postinst, run as the image builder does, calls default_postinst with its path" \
		grep -qx "default_postinst root= pkgname= args=./usr/lib/opkg/info/lango.postinst" "$r/calls"

	remove_keeps_changed_config "opkg $arch" "$r" "${opkg[@]}" remove lango
	expect "opkg $arch: prerm called default_prerm" grep -q "^default_prerm .*lango.prerm remove" "$r/calls"

	# Reinstall over the kept config: the owner's file stays, the default goes beside it.
	"${opkg[@]}" install "$ipk" >/dev/null 2>&1 || true
	expect "opkg $arch: reinstall over a kept config keeps it" grep -q "Mama Mboga" "$r/etc/config/lango"
	# Remove with the config unchanged: opkg deletes it (docs/install.md says so).
	cp "$pkgfiles/lango.config" "$r/etc/config/lango"
	rm -f "$r/etc/config/lango-opkg"
	"${opkg[@]}" remove lango >/dev/null 2>&1 || true
	"${opkg[@]}" install "$ipk" >/dev/null 2>&1 || true
	"${opkg[@]}" remove lango >/dev/null 2>&1 || true
	expect "opkg $arch: remove deletes an unchanged /etc/config/lango" test ! -e "$r/etc/config/lango"
}

# apk_root ARCH DIR: a scratch root at DIR; sets the caller's r, apk (the command) and stub, a
# package standing in for the firmware's: it provides Lango's dependencies (as tc-tiny provides
# tc and nftables-json nftables) and the stub /lib/functions.sh. Scripts run outside a chroot
# (a scratch root has no /bin/sh) and find the root in IPKG_INSTROOT, which --preserve-env
# passes on, as in an image build.
apk_root() {
	r=$2
	stub=$tmp/base-stub-$1.apk
	mkdir -p "$r"
	apk=(env IPKG_INSTROOT="$r" "$apk_tool" --root "$r" --allow-untrusted --no-network
		--no-cache --no-logfile --preserve-env --force-no-chroot)
	[[ -s $stub ]] && return
	stub_functions "$tmp/apk-stub-$1"
	"$apk_tool" mkpkg --info name:base-stub --info version:1-r1 --info arch:"$1" \
		--info "description:test stand-in for OpenWrt base packages" \
		--info "provides:$(depends_of "$1" | paste -sd' ' -)" \
		--files "$tmp/apk-stub-$1" --output "$stub"
}

# apk_checks ARCH APK
apk_checks() {
	local arch=$1 pkg=$2 r out rc stub
	local -a apk
	tool_missing apk "$apk_tool" && return
	if ! apk_root "$arch" "$tmp/apk-root-$arch"; then
		bad "apk $arch: mkpkg of the base stub"
		return
	fi
	rc=0
	out=$("${apk[@]}" add --initdb --arch "$arch" "$stub" "$pkg" 2>&1) || rc=$?
	succeeded "apk $arch: add" "$rc" "$out" || return 0
	installed_files_ok "apk $arch" "$r"
	expect "apk $arch: lango $version-r1 installed" \
		grep -q "^lango-$version-r1 " <("${apk[@]}" info -v 2>/dev/null | sed 's/$/ /')
	expect "apk $arch: /lib/apk/packages/lango.conffiles lists /etc/config/lango" \
		grep -qx /etc/config/lango "$r/lib/apk/packages/lango.conffiles"
	expect "apk $arch: lango.conffiles_static holds the default config's sha256" \
		grep -qx "/etc/config/lango $(sha256sum <"$pkgfiles/lango.config" | cut -d' ' -f1)" \
		"$r/lib/apk/packages/lango.conffiles_static"
	expect "apk $arch: lango.list lists the binary" grep -qx /usr/sbin/lango "$r/lib/apk/packages/lango.list"
	expect "apk $arch: post-install called default_postinst for lango" \
		grep -qx "default_postinst root=$r pkgname=lango args=" "$r/calls"

	remove_keeps_changed_config "apk $arch" "$r" "${apk[@]}" del lango
	expect "apk $arch: pre-deinstall called default_prerm for lango" \
		grep -qx "default_prerm root=$r pkgname=lango args=" "$r/calls"

	# Remove with the config unchanged, in a fresh root: apk deletes it, as opkg does.
	apk_root "$arch" "$tmp/apk-root2-$arch"
	"${apk[@]}" add --initdb --arch "$arch" "$stub" "$pkg" >/dev/null 2>&1 || true
	expect "apk $arch: a fresh root gets /etc/config/lango" test -e "$r/etc/config/lango"
	"${apk[@]}" del lango >/dev/null 2>&1 || true
	expect "apk $arch: del deletes an unchanged /etc/config/lango" test ! -e "$r/etc/config/lango"
}

# upgrade_checks ARCH OLD-IPK NEW-IPK OLD-APK NEW-APK (the APKs may be empty): the owner
# changes the config, then the package of the next release is installed over the old one,
# as docs/install.md's Upgrade says: the owner's config stays, the new default is written
# beside it, the scripts run as upgrade scripts. NEW is release r2 of the same files.
upgrade_checks() {
	local arch=$1 r out rc stub
	local -a opkg apk
	if ! tool_missing opkg "$opkg_tool"; then
		DEPS=1 opkg_root "$arch" "$tmp/opkg-upgrade-$arch"
		"${opkg[@]}" install "$2" >/dev/null 2>&1 || true
		echo "	option site_name 'Mama Mboga Wi-Fi'" >>"$r/etc/config/lango" || true
		rc=0
		out=$("${opkg[@]}" install "$3" 2>&1) || rc=$?
		succeeded "opkg $arch: upgrade to r2" "$rc" "$out" || true
		expect "opkg $arch: status says r2" \
			grep -qx "Version: $version-r2" <(sed -n '/^Package: lango$/,/^$/p' "$r/usr/lib/opkg/status")
		expect "opkg $arch: upgrade keeps the changed config" grep -q "Mama Mboga" "$r/etc/config/lango"
		expect "opkg $arch: upgrade writes the new default as /etc/config/lango-opkg" \
			cmp -s "$r/etc/config/lango-opkg" "$pkgfiles/lango.config"
		expect "opkg $arch: the old prerm ran as 'upgrade'" \
			grep -q "^default_prerm .*lango.prerm upgrade $version-r2$" "$r/calls"
	fi
	[[ -n $4 ]] || return 0
	if ! tool_missing apk "$apk_tool"; then
		apk_root "$arch" "$tmp/apk-upgrade-$arch"
		"${apk[@]}" add --initdb --arch "$arch" "$stub" "$4" >/dev/null 2>&1 || true
		echo "	option site_name 'Mama Mboga Wi-Fi'" >>"$r/etc/config/lango" || true
		rc=0
		out=$("${apk[@]}" add "$5" 2>&1) || rc=$?
		succeeded "apk $arch: upgrade to r2" "$rc" "$out" || true
		expect "apk $arch: r2 installed" \
			grep -q "^lango-$version-r2 " <("${apk[@]}" info -v 2>/dev/null | sed 's/$/ /')
		expect "apk $arch: upgrade keeps the changed config" grep -q "Mama Mboga" "$r/etc/config/lango"
		expect "apk $arch: upgrade writes the new default as /etc/config/lango.apk-new" \
			cmp -s "$r/etc/config/lango.apk-new" "$pkgfiles/lango.config"
		expect "apk $arch: post-upgrade called default_postinst" \
			test "$(grep -c "^default_postinst root=$r pkgname=lango args=$" "$r/calls")" = 2
	fi
}
