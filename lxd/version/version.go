// Package version lists the API extensions the daemon implements.
package version

// APIExtensions lists the API extensions the daemon really implements, in the order they were added. Append only;
// doc/api-extensions.md describes each.
var APIExtensions = []string{}
