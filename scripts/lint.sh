#!/usr/bin/env bash
# nginx code style, the checkable part: at most 80 columns, no tabs, no
# trailing spaces, in every C source and header of the module.
set -u
cd "$(dirname "$0")/.."
status=0
for f in ngx_module/*.[ch] translators/*/*.[ch]; do
    awk -v f="$f" '
        length($0) > 80 { printf "%s:%d: longer than 80 columns\n", f, NR; bad=1 }
        /\t/            { printf "%s:%d: tab\n", f, NR; bad=1 }
        / +$/           { printf "%s:%d: trailing space\n", f, NR; bad=1 }
        END { exit bad }' "$f" || status=1
done
[ $status = 0 ] && echo "lint: clean"
exit $status
