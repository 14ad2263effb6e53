// Package client is the Go client of the REST API. The CLI talks to servers only through it, and the daemon uses it
// to pull images from other servers.
package client
