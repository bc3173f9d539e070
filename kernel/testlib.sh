# SPDX-License-Identifier: MIT
# Sourced by the kernel boot tests (kernel/check.sh, kernel/libvirt.sh) once they have set
# B (the build directory) and HERE (kernel/): sets ROOT (the project), KDIR (the kernel
# tree's directory, SBCO_KERNEL_DIR or B/kernel), the counters P and F with ok() and bad()
# to count a check passed or failed, and known_oops.
ROOT=$(cd "$HERE/.." && pwd)
KDIR=${SBCO_KERNEL_DIR:-$ROOT/$B/kernel}
P=0
F=0
ok() { P=$((P + 1)); echo "ok: $*"; }
bad() { F=$((F + 1)); echo "FAIL: $*"; }
# known_oops LOG: true when the boot log LOG shows the base kernel's intermittent
# pick_task_fair() NULL oops (kernel/README.md, "Known problem of the base kernel"), which
# the short forms in `make check` (SBCO_KCHECK_RETRY=1) report loudly and boot once more.
known_oops() {
	grep -q 'RIP: 0010:pick_task_fair' "$1" &&
		grep -q 'BUG: kernel NULL pointer dereference, address: 0000000000000051' "$1"
}
