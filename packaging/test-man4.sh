#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP): cowdup(4), Documentation/man/man4/*.4.
#  - renders with `groff -man -ww -z` without a single warning (the library's
#    man3 pages are checked by tests/unit/man_check.sh, which scans man3 only);
#  - names every ioctl, flag, feature bit, page state and first-version size
#    constant of uapi/linux/cowdup.h;
#  - lists in ERRORS every errno the contract gives the device (sections 1-3).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
page=$src/Documentation/man/man4/cowdup.4
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

if ! command -v groff >/dev/null 2>&1; then
	echo "1..0 # SKIP groff not installed (apt install groff-base)"
	exit 4
fi
[ -f "$page" ] || { echo "1..1"; echo "not ok 1 - $page exists"; exit 1; }

out=$(cd "$src/Documentation/man" && LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 man4/cowdup.4 2>&1)
if [ -z "$out" ]; then ok "groff -ww cowdup.4"; else
	notok "groff -ww cowdup.4"; printf '%s\n' "$out" | sed 's/^/# /'; fi

# Every public name of the uapi header, but the include guard and paths.
names=$(sed -n 's/^#define \(COWDUP_[A-Z0-9_]*\).*/\1/p' "$src/uapi/linux/cowdup.h" |
	grep -v -e '^COWDUP_DEVICE_' -e '^COWDUP_IOC_MAGIC$')
missing=
for name in $names; do
	grep -q "$name" "$page" || missing="$missing $name"
done
if [ -z "$missing" ]; then ok "every COWDUP_* name of <linux/cowdup.h> is described"; else
	notok "every COWDUP_* name of <linux/cowdup.h> is described"; echo "# missing:$missing"; fi

# ERRORS section: from ".SH ERRORS" to the next ".SH".
errs=$(sed -n '/^\.SH ERRORS/,/^\.SH [^E]/p' "$page")
for e in E2BIG EFAULT EINVAL ENOTTY EEXIST EINTR ENOMEM EOPNOTSUPP EPERM EACCES; do
	if printf '%s\n' "$errs" | grep -q "^\.B.* $e\$\|^\.B $e\$\|^\.B $e "; then
		ok "ERRORS lists $e"
	else
		notok "ERRORS lists $e"
	fi
done
echo "1..$n"
exit $fail
