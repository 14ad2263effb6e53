// Package image is the image domain: what the daemon does with images beyond holding their bytes. It stores
// received images (the commit of a pending import, its database row and aliases, as one change), pulls images
// from LXD and simplestreams servers and from static web hosts, refreshes them (on request and in the auto-update
// task), keeps the cached copies of other servers' images and prunes them after images.remote_cache_expiry days,
// records their last use, deletes images (pruning the instance bases no image needs any more) and brings the
// store back in line with the database at start.
//
// The content store itself (validated imports, unpack, export paths) is lxd/images. This package never renders
// HTTP: it returns the error classes of lxd/errs, reports progress through a callback, and the REST handlers in
// lxd/rest decode, authorize, call a Manager and build the response.
package image
