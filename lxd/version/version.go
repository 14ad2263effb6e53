// Package version lists the API extensions the daemon implements.
package version

// APIExtensions lists the API extensions the daemon really implements, in the order they were added. Append only;
// doc/api-extensions.md describes each.
var APIExtensions = []string{
	"etag",
	"patch",
	"certificate_update",
	"operation_description",
	"event_lifecycle",
	"api_os",
	"event_lifecycle_requestor_address",
	"certificate_project",
	"certificate_token",
	"api_filtering",
	"image_force_refresh",
	"instances",
	"container_full",
	"instance_get_full",
	"container_exec_signal_handling",
	"container_exec_user_group_cwd",
	"file_delete",
	"file_append",
	"file_symlinks",
	"file_get_symlink",
	"directory_manipulation",
	"snapshot_expiry",
	"image_compression_algorithm",
	"images_push_relay",
	"console",
	"container_exec_recording",
	"container_edit_metadata",
}
