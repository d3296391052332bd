#!/usr/bin/env bash
# Prints the Debian packages that own the shared libraries BINARY loads (as
# ldd resolves them), one per line. The Dockerfile's build stage runs it so the
# slim runtime image installs exactly what the binary links, nothing more, and
# stays right when someone adds a library. Fails if a library is missing or
# not owned by any package (it could not be installed in the runtime image).
set -euo pipefail
bin="${1:?usage: runtime-packages.sh BINARY}"
out="$(ldd "$bin")"
if grep -q 'not found' <<<"$out"; then
  echo "runtime-packages: unresolved libraries:" >&2; grep 'not found' <<<"$out" >&2; exit 1
fi
# dpkg knows a file by its packaged path; on merged-/usr systems that can be
# the /lib or the /usr/lib spelling, so try the path as given, resolved, /usr-prefixed.
owner_of() {
  local p line
  for p in "$1" "$(readlink -f "$1")" "/usr$1"; do
    line="$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | head -n1)" || true
    [[ -n "$line" ]] && { echo "${line%%:*}"; return 0; }
  done
  return 1
}
for lib in $(awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$out"); do
  owner_of "$lib" || { echo "runtime-packages: no package owns $lib" >&2; exit 1; }
done | sort -u
