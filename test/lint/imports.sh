#!/usr/bin/env bash
# Import boundaries. Two checks:
#  1. Rules that hold whatever the list says (the layers of doc/architecture.md).
#  2. Every direct import of a package of this module on anything outside the standard library is listed in
#     test/lint/imports.list; a new edge fails until it is reviewed and the list is regenerated with --update.
# Usage: test/lint/imports.sh [--update]
set -eu
cd "$(dirname "$0")/../.."
module=$(go list -m)
list=test/lint/imports.list
tags=${GOTAGS:-libsqlite3}

# "importer import" for every non-test import of the module's packages, module prefix dropped, standard library
# imports (no dot in the first path element) kept only where a rule below needs them.
edges=$(go list -tags "$tags" -f '{{$p := .ImportPath}}{{range .Imports}}{{$p}} {{.}}{{"\n"}}{{end}}' ./... |
	sed "s#${module}/##g" | sort -u)
external=$(printf '%s\n' "$edges" | awk '{ split($2, a, "/"); if (a[1] ~ /\./ || $2 ~ /^(lxd|lxc|shared|client|simplestreams|test)(\/|$)/) print }')

fail=0
violation() {
	echo "import boundary: $*" >&2
	fail=1
}

# rule_only PATTERN ALLOWED...: only packages matching one of ALLOWED (anchored regexps) may import PATTERN.
rule_only() {
	local target=$1
	shift
	local allowed
	allowed=$(printf '%s|' "$@")
	allowed=${allowed%|}
	printf '%s\n' "$external" | awk -v t="^(${target})$" -v ok="^(${allowed})$" '$2 ~ t && $1 !~ ok { print $1 " imports " $2 }' |
		while read -r line; do echo "$line"; done
}

check() {
	local why=$1 out=$2
	[ -z "$out" ] && return 0
	while read -r line; do violation "$line ($why)"; done <<<"$out"
}

check "shared/api holds wire types and imports the standard library only" \
	"$(printf '%s\n' "$external" | awk '$1 == "shared/api" { print $1 " imports " $2 }')"
check "shared/ never imports the daemon or the client" \
	"$(printf '%s\n' "$external" | awk '$1 ~ /^shared(\/|$)/ && $2 ~ /^(lxd|lxc|client)(\/|$)/ { print $1 " imports " $2 }')"
check "nothing outside the daemon imports lxd/" \
	"$(printf '%s\n' "$external" | awk '$1 !~ /^lxd(\/|$)/ && $2 ~ /^lxd\// { print $1 " imports " $2 }')"
check "only lxd/daemon builds the router" "$(rule_only 'lxd/rest' 'lxd/daemon')"
check "only lxd/instance/lxc talks to liblxc" "$(rule_only 'github.com/lxc/go-lxc' 'lxd/instance/lxc')"
check "only lxd/template imports pongo2" "$(rule_only 'github.com/flosch/pongo2/v6' 'lxd/template')"
check "HTTP requests and responses stay at the REST edge" \
	"$(rule_only 'lxd/request|lxd/response' 'lxd/rest|lxd/daemon|lxd/events|lxd/operations')"

check "domain packages take events and progress as interfaces and callbacks, and leave HTTP to the edge" \
	"$(printf '%s\n' "$edges" | awk '$1 ~ /^lxd\/(image|images|instance|storage|db|template)(\/|$)/ && $2 ~ /^(net\/http|lxd\/events|lxd\/operations)$/ { print $1 " imports " $2 }')"

# Domain packages: no package of this module below them imports net/http. A third-party package that does is named
# here with the reason it is harmless.
nethttp_allowed='github.com/flosch/pongo2/v6' # its HTTP file-system loader, which lxd/template never uses
for pkg in ./lxd/instance/... ./lxd/storage/... ./lxd/images/... ./lxd/db/... ./lxd/template/...; do
	who=$(go list -tags "$tags" -f '{{.ImportPath}} {{join .Imports " "}}' -deps "$pkg" |
		awk -v ok="$nethttp_allowed" '{ for (i = 2; i <= NF; i++) if ($i == "net/http" && $1 != ok) print $1 }' |
		sed "s#${module}/##" | sort -u | tr '\n' ' ')
	[ -z "$who" ] || violation "$pkg depends on net/http through: $who(domain packages return lxd/errs classes; HTTP stays in lxd/rest)"
done

if [ "${1:-}" = "--update" ]; then
	printf '%s\n' "$external" >"$list"
	echo "wrote $list"
elif ! diff -u "$list" <(printf '%s\n' "$external") >/tmp/imports.diff.$$; then
	sed -n '3,$p' /tmp/imports.diff.$$ | grep '^[+-]' >&2 || true
	echo "import boundary: the imports above differ from $list ('+' new, '-' gone); if intended, run test/lint/imports.sh --update and commit the list" >&2
	fail=1
fi
rm -f /tmp/imports.diff.$$

exit $fail
