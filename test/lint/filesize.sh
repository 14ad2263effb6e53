#!/usr/bin/env bash
# Handwritten Go files stay under the size limit (doc/architecture.md): split by verb or by what a part holds.
set -eu
cd "$(dirname "$0")/../.."
limit=${GO_FILE_LINES_MAX:-800}
over=$(git ls-files '*.go' | xargs wc -l | awk -v max="$limit" '$2 != "total" && $1 > max { print $2 ": " $1 " lines" }')
if [ -n "$over" ]; then
	echo "Go files over $limit lines:" >&2
	echo "$over" >&2
	exit 1
fi
