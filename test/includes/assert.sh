# Assertions that say what they expected when they fail.

fail() {
	echo "FAIL: $*" >&2
	return 1
}

# assert_eq GOT WANT [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-output} does not contain '$2': $1" ;;
	esac
}

# assert_fails CMD...: the command must exit non-zero; its output is kept in $FAIL_OUTPUT.
assert_fails() {
	if FAIL_OUTPUT=$("$@" 2>&1); then
		fail "command succeeded but should have failed: $*: ${FAIL_OUTPUT}"
	fi
}
