// Package simplestreams reads simplestreams image indexes (streams/v1/index.json and its products files) and turns
// them into the API's images and aliases. It has no daemon imports; the client exposes it as one more image server.
package simplestreams
