# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Shell helpers (sourced, not run) for scripts and tests that start DPDK
# processes with our PMDs: a private plugin directory EAL accepts, memory
# options that work with or without hugepages, and bounded stops by PID.
#
#   . devtools/dpdk-run.sh
#   vu_plugin_dir BUILD_DIR          -> sets VU_PLUGIN_DIR
#   vu_mem_args MB [N]               -> prints EAL memory options (N processes)
#   vu_stop PID [SECONDS]            -> SIGTERM, then SIGKILL after SECONDS
#   vu_cleanup                       -> removes VU_PLUGIN_DIR
#   vu_tool_work NAME                -> sets WORK, PREFIX, PIDS, TPFD; an
#                                       EXIT trap undoes it all

# EAL refuses a -d plugin when the file or any directory above it is
# world-writable (a clone under /tmp, say): copy the PMDs and the library
# they link (same relative layout is not needed: LD_LIBRARY_PATH points at
# the copy) into a 0700 directory under $HOME, which is not world-writable.
vu_plugin_dir() {
	local build=$1 base
	base=${XDG_CACHE_HOME:-$HOME/.cache}/dpdk-vfio-user
	mkdir -p "$base"
	chmod 755 "$base"
	VU_PLUGIN_DIR=$(mktemp -d "$base/plugins.XXXXXX")
	chmod 700 "$VU_PLUGIN_DIR"
	cp -L "$build"/drivers/net/vfio_user/librte_net_vfio_user.so \
	      "$build"/drivers/net/vfio_user_client/librte_net_vfio_user_client.so \
	      "$VU_PLUGIN_DIR"/ || return 1
	cp -L "$build"/lib/vfio_user/librte_vfio_user.so.0 "$VU_PLUGIN_DIR"/ ||
		return 1
	export LD_LIBRARY_PATH="$VU_PLUGIN_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	export VU_PLUGIN_DIR
	VU_BACKEND_PMD=$VU_PLUGIN_DIR/librte_net_vfio_user.so
	VU_FRONTEND_PMD=$VU_PLUGIN_DIR/librte_net_vfio_user_client.so
	export VU_BACKEND_PMD VU_FRONTEND_PMD
}

# Free 2 MiB hugepages now.
vu_free_hugepages() {
	local f=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
	if [ -r "$f" ]; then cat "$f"; else echo 0; fi
}

# EAL memory options for one process needing about MB megabytes: hugepages
# when enough are free (--huge-unlink: a killed process leaves no hugepage
# files behind), else --no-huge (DPDK backs it with a memfd, which our
# frontend can pass to the device).
vu_mem_args() {	# vu_mem_args MB [PROCESSES]: PROCESSES of MB each
	local mb=$1 n=${2:-1}
	if [ "$(vu_free_hugepages)" -ge $(( ((mb + 1) / 2 + 16) * n )) ] &&
	   [ "${VU_NO_HUGE:-0}" != 1 ]; then
		echo "-m $mb --huge-unlink"
	else
		echo "--no-huge -m $mb"
	fi
}

# Stop a process: SIGTERM, wait up to SECONDS (default 10), then SIGKILL.
vu_stop() {
	local pid=$1 secs=${2:-10} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	wait "$pid" 2>/dev/null || true
}

# Wait up to SECONDS for a UNIX socket to appear.
vu_wait_socket() {
	local path=$1 secs=${2:-20} i
	for ((i = 0; i < secs * 50; i++)); do
		[ -S "$path" ] && return 0
		sleep 0.02
	done
	return 1
}

vu_cleanup() {
	[ -n "${VU_PLUGIN_DIR:-}" ] && rm -rf "$VU_PLUGIN_DIR"
	VU_PLUGIN_DIR=
}

# vu_rm_runtime PREFIX...: EAL's runtime directories of those
# --file-prefix values (EAL leaves them behind; one per process would pile
# up), once their processes are gone.
vu_rm_runtime() {
	local p rt=/var/run/dpdk

	[ "$(id -u)" -eq 0 ] || rt=${XDG_RUNTIME_DIR:-/tmp}/dpdk
	for p in "$@"; do
		[ -n "$p" ] && rm -rf "${rt:?}/$p"
	done
}

# vu_tool_work NAME: for a tool that starts DPDK processes: a private work
# directory WORK, an EAL --file-prefix PREFIX, PIDS to stop and TPFD (the
# fd feeding an interactive testpmd, or empty), all undone by an EXIT trap:
# testpmd told to quit, PIDS stopped, EAL's runtime directory, the plugin
# directory and WORK removed.
vu_tool_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	PREFIX=$1-$$
	PIDS=()
	TPFD=
	trap vu_tool_cleanup EXIT
}

vu_tool_cleanup() {
	local p

	[ -n "$TPFD" ] && { echo quit >&"$TPFD"; } 2>/dev/null || true
	for p in "${PIDS[@]}"; do vu_stop "$p" 5; done
	vu_rm_runtime "$PREFIX"
	vu_cleanup
	rm -rf "$WORK"
}
