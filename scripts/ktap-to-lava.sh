#!/bin/sh
# Reports each result line of a KTAP file as a LAVA test case:
# "ok N id" -> pass, "not ok N id" -> fail, "ok N id # SKIP ..." -> skip.
# Outside LAVA (no lava-test-case on PATH) it prints what it would report.
set -eu
file=${1:?usage: ktap-to-lava.sh FILE}
[ -r "$file" ] || { echo "ktap-to-lava.sh: cannot read $file" >&2; exit 2; }
report() {
  if command -v lava-test-case >/dev/null 2>&1; then
    lava-test-case "$1" --result "$2"
  else
    echo "$1 $2"
  fi
}
grep -E '^(not )?ok [0-9]+ ' "$file" | while IFS= read -r line; do
  case "$line" in
    "not ok "*) rest=${line#not ok }; result=fail ;;
    *) rest=${line#ok }; result=pass ;;
  esac
  id=${rest#* }
  case "$id" in
    *" # SKIP"*) id=${id%% # SKIP*}; result=skip ;;
  esac
  report "$id" "$result"
done
