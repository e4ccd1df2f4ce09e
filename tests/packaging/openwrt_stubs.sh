# shellcheck shell=sh
# Stand-ins for what OpenWrt gives Lango's shell scripts (rc.common, functions.sh, procd.sh,
# jshn.sh, uci, ubus) and for the commands they run, so tests/packaging.sh can run those scripts
# under busybox ash. Every stub appends one line per call to $STUB_LOG: `name [arg] [arg]...`.
#   STUB_UCI   file of `key=value` lines: `pkg.section=type` and `pkg.section.option=value`
#              (a list is its values separated by spaces); uci and config_get read/write it.
#   STUB_NEIGH what `ip neigh show` prints.   STUB_PID  the daemon pid ubus reports.
# shellcheck disable=SC3043 # busybox ash has `local`.

stub_log() {
	local name="$1" a
	shift
	{
		printf '%s' "$name"
		for a in "$@"; do printf ' [%s]' "$a"; done
		echo
	} >>"$STUB_LOG"
}

# The value of KEY in $STUB_UCI; fails when absent.
stub_uci_get() {
	awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); f = 1; exit } END { exit !f }' "$STUB_UCI"
}

uci() {
	stub_log uci "$@"
	[ "$1" = -q ] && shift
	case "$1" in
	get) stub_uci_get "$2" ;;
	add_list)
		local key="${2%%=*}" val="${2#*=}" old
		if old=$(stub_uci_get "$key"); then
			awk -v k="$key" -v v="$old $val" 'index($0, k "=") == 1 { $0 = k "=" v } { print }' \
				"$STUB_UCI" >"$STUB_UCI.new" && mv "$STUB_UCI.new" "$STUB_UCI"
		else
			echo "$key=$val" >>"$STUB_UCI"
		fi
		;;
	commit) ;;
	*) return 1 ;;
	esac
}

# functions.sh: config_get VAR SECTION OPTION [DEFAULT] reads lango.SECTION.OPTION.
config_load() { stub_log config_load "$@"; }
# Locals carry a prefix so they never shadow the caller's variable named in $1.
config_get() {
	local _cg_v
	_cg_v=$(stub_uci_get "lango.$2.$3") || _cg_v="$4"
	eval "$1=\$_cg_v"
}
config_get_bool() {
	local _cgb_v
	config_get _cgb_v "$2" "$3" "$4"
	case "$_cgb_v" in
	1 | on | true | yes | enabled) _cgb_v=1 ;;
	0 | off | false | no | disabled) _cgb_v=0 ;;
	*) _cgb_v="$4" ;;
	esac
	eval "$1=\$_cgb_v"
}

# procd.sh and jshn.sh
procd_open_instance() { stub_log procd_open_instance "$@"; }
procd_set_param() { stub_log procd_set_param "$@"; }
procd_append_param() { stub_log procd_append_param "$@"; }
procd_close_instance() { stub_log procd_close_instance "$@"; }
procd_open_data() { stub_log procd_open_data "$@"; }
procd_close_data() { stub_log procd_close_data "$@"; }
procd_add_reload_trigger() { stub_log procd_add_reload_trigger "$@"; }
procd_set_config_changed() { stub_log procd_set_config_changed "$@"; }
procd_send_signal() { stub_log procd_send_signal "$@"; }
procd_kill() { stub_log procd_kill "$@"; }
json_add_array() { stub_log json_add_array "$@"; }
json_close_array() { stub_log json_close_array "$@"; }
json_add_object() { stub_log json_add_object "$@"; }
json_close_object() { stub_log json_close_object "$@"; }
json_add_string() { stub_log json_add_string "$@"; }
json_add_int() { stub_log json_add_int "$@"; }
json_add_boolean() { stub_log json_add_boolean "$@"; }

# rc.common's start, as reload_service calls it.
start() { stub_log start "$@"; }

# Commands.
ubus() {
	stub_log ubus "$@"
	echo "{ \"lango\": { \"instances\": { \"instance1\": { \"pid\": ${STUB_PID:-0} } } } }"
}
jsonfilter() {
	stub_log jsonfilter "$@"
	cat >/dev/null
	[ -n "$STUB_PID" ] && echo "$STUB_PID"
}
ip() {
	stub_log ip "$@"
	[ "$1 $2" = "neigh show" ] && [ -n "$STUB_NEIGH" ] && printf '%s\n' "$STUB_NEIGH"
	return 0
}
# The daemon is already gone.
kill() { stub_log kill "$@"; return 1; }
sleep() { stub_log sleep "$@"; }
nft() { stub_log nft "$@"; }
tc() { stub_log tc "$@"; }
mkdir() { stub_log mkdir "$@"; }
logger() { stub_log logger "$@"; }
pidof() { stub_log pidof "$@"; return 1; }
