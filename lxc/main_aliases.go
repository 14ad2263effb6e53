package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxc/config"
)

// numberedArgRegex finds the @ARG<n>@ of an alias target.
var numberedArgRegex = regexp.MustCompile(`@ARG(\d+)@`)

// defaultAliases are the built-in aliases, looked at only when no alias of config.yml matches.
var defaultAliases = map[string]string{
	"shell": "exec @ARGS@ -- su -l",
}

// aliasesEnv is set in the environment of a program an alias runs (and checked here) so that aliases are expanded
// once, as the stock client does.
const aliasesEnv = "LXC_ALIASES"

// findAlias returns the key and target of the alias whose words begin args[1:], split on single spaces. Where
// several aliases match (say "foo" and "foo bar"), the one with the most words wins; the stock client picks one at
// random.
func findAlias(aliases map[string]string, args []string) ([]string, []string, bool) {
	keys := make([]string, 0, len(aliases))
	for k := range aliases {
		keys = append(keys, k)
	}

	sort.Slice(keys, func(i, j int) bool {
		ni, nj := strings.Count(keys[i], " "), strings.Count(keys[j], " ")
		if ni != nj {
			return ni > nj
		}

		return keys[i] < keys[j]
	})

	for _, k := range keys {
		words := strings.Split(k, " ")
		if len(args) <= len(words) {
			continue
		}

		match := true
		for i, word := range words {
			if args[i+1] != word {
				match = false
				break
			}
		}

		if match {
			return words, strings.Split(aliases[k], " "), true
		}
	}

	return nil, nil, false
}

// expandAlias rewrites a command line (args[0] is the program) whose first words after the leading flags are an
// alias, as the stock client does: the flags are kept in front, the alias words are replaced by its target, where
// @ARGS@ takes the remaining arguments and @ARG<n>@ the n-th of them (then left out of @ARGS@); without @ARGS@ they
// follow the target. A target starting with "/" is a program to run instead of lxc, and then args[0] is dropped.
func expandAlias(aliases map[string]string, args []string) ([]string, bool, error) {
	var newArgs []string
	for _, arg := range args[1:] {
		if !strings.HasPrefix(arg, "-") {
			break
		}

		newArgs = append(newArgs, arg)
	}

	origArgs := append([]string{args[0]}, args[len(newArgs)+1:]...)
	aliasKey, aliasValue, found := findAlias(aliases, origArgs)
	if !found {
		aliasKey, aliasValue, found = findAlias(defaultAliases, origArgs)
		if !found {
			return nil, false, nil
		}
	}

	if !strings.HasPrefix(aliasValue[0], "/") {
		newArgs = append([]string{origArgs[0]}, newArgs...)
	}

	atArgs := append([]string(nil), origArgs[len(aliasKey)+1:]...)
	numbered := map[int]string{}
	for _, aliasArg := range aliasValue {
		for _, match := range numberedArgRegex.FindAllStringSubmatch(aliasArg, -1) {
			n, err := strconv.Atoi(match[1])
			if err != nil || n < 1 || n > len(atArgs) {
				return nil, false, fmt.Errorf("found alias %q references an argument outside the given number", strings.Join(aliasKey, " "))
			}

			numbered[n] = atArgs[n-1]
		}
	}

	// What @ARGS@ stands for: the arguments no @ARG<n>@ took.
	var rest []string
	for i, arg := range atArgs {
		_, taken := numbered[i+1]
		if !taken {
			rest = append(rest, arg)
		}
	}

	hasArgsVar := false
	for _, aliasArg := range aliasValue {
		if aliasArg == "@ARGS@" {
			newArgs = append(newArgs, rest...)
			hasArgsVar = true
			continue
		}

		newArgs = append(newArgs, numberedArgRegex.ReplaceAllStringFunc(aliasArg, func(m string) string {
			n, _ := strconv.Atoi(m[len("@ARG") : len(m)-1])
			return numbered[n]
		}))
	}

	if !hasArgsVar {
		newArgs = append(newArgs, rest...)
	}

	return newArgs, true, nil
}

// aliasedArgs returns the command line to run once aliases are expanded, or args as they are. An alias whose target
// is a program replaces the process with it. Aliases are not expanded when LXC_ALIASES=1 (an alias ran this lxc)
// or when config.yml cannot be read (running the command will report that).
func aliasedArgs(args []string) ([]string, error) {
	if os.Getenv(aliasesEnv) == "1" || len(args) < 2 {
		return args, nil
	}

	conf, err := config.Load(config.Dir())
	if err != nil {
		return args, nil
	}

	newArgs, expanded, err := expandAlias(conf.Aliases, args)
	if err != nil {
		return nil, err
	}

	if !expanded {
		return args, nil
	}

	if len(newArgs) > 0 && newArgs[0] == args[0] {
		return newArgs, nil
	}

	if len(newArgs) == 0 {
		return nil, fmt.Errorf("processing aliases failed: %w", exec.ErrNotFound)
	}

	path, err := exec.LookPath(newArgs[0])
	if err != nil {
		return nil, fmt.Errorf("processing aliases failed: %w", err)
	}

	err = unix.Exec(path, newArgs, append(os.Environ(), aliasesEnv+"=1"))
	return nil, fmt.Errorf("processing aliases failed: %w", err)
}
