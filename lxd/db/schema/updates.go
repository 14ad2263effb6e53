package schema

// updates is the append-only history of the schema. Never edit or remove an
// entry once it has been committed: add a new version instead, then run
// `go test -tags libsqlite3 ./lxd/db/schema -run TestFreshSchema -update` to
// regenerate schema.sql. Each update is plain SQL and never calls Go code.
var updates = map[int]string{
	1:  updateFromV0,
	2:  updateFromV1,
	3:  updateFromV2,
	4:  updateFromV3,
	5:  updateFromV4,
	6:  updateFromV5,
	7:  updateFromV6,
	8:  updateFromV7,
	9:  updateFromV8,
	10: updateFromV9,
	11: updateFromV10,
	12: updateFromV11,
	13: updateFromV12,
}

// updateFromV0 creates the server configuration, the run-once patches and
// the trusted certificates.
const updateFromV0 = `
CREATE TABLE config (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE patches (
    name TEXT PRIMARY KEY NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE
        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    type TEXT NOT NULL CHECK (type IN ('client', 'metrics')),
    name TEXT NOT NULL,
    certificate TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1))
);

CREATE TABLE certificates_projects (
    certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    UNIQUE (certificate_id, project)
);
`

// updateFromV1 adds the image store's metadata: images, their properties,
// aliases and the server they were pulled from.
const updateFromV1 = `
CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE
        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    filename TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL CHECK (size >= 0),
    public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    architecture TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'container' CHECK (type IN ('container', 'virtual-machine')),
    creation_date TEXT,
    expiry_date TEXT,
    upload_date TEXT NOT NULL,
    last_use_date TEXT,
    cached INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0, 1)),
    auto_update INTEGER NOT NULL DEFAULT 0 CHECK (auto_update IN (0, 1))
);

CREATE TABLE images_properties (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (image_id, key)
);

CREATE TABLE images_aliases (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE INDEX images_aliases_image_id ON images_aliases (image_id);

CREATE TABLE images_source (
    image_id INTEGER NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
    server TEXT NOT NULL,
    protocol TEXT NOT NULL,
    certificate TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT '',
    image_type TEXT NOT NULL DEFAULT ''
);
`

// updateFromV2 adds instances and profiles, each with its configuration and
// devices, and the ordered profiles of each instance.
const updateFromV2 = `
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE profiles_config (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (profile_id, key)
);

CREATE TABLE profiles_devices (
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (profile_id, device, key)
);

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    type TEXT NOT NULL DEFAULT 'container' CHECK (type IN ('container', 'virtual-machine')),
    architecture TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0 CHECK (ephemeral IN (0, 1)),
    stateful INTEGER NOT NULL DEFAULT 0 CHECK (stateful IN (0, 1)),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    last_use_date TEXT
);

CREATE TABLE instances_config (
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_id, key)
);

CREATE TABLE instances_devices (
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_id, device, key)
);

CREATE TABLE instances_profiles (
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE RESTRICT,
    apply_order INTEGER NOT NULL,
    UNIQUE (instance_id, profile_id)
);

CREATE INDEX instances_profiles_profile_id ON instances_profiles (profile_id);
`

// updateFromV3 adds instance snapshots: the instance's writable state when taken, config, devices and profiles
// as JSON documents.
const updateFromV3 = `
CREATE TABLE instances_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name <> ''),
    architecture TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0 CHECK (ephemeral IN (0, 1)),
    stateful INTEGER NOT NULL DEFAULT 0 CHECK (stateful IN (0, 1)),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    expiry_date TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    devices TEXT NOT NULL DEFAULT '{}',
    profiles TEXT NOT NULL DEFAULT '[]',
    UNIQUE (instance_id, name)
);
`

// updateFromV4 adds the warnings the daemon records about itself: one row per type, entity and project, counted
// and timestamped, with the status an operator sets.
const updateFromV4 = `
CREATE TABLE warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),
    location TEXT NOT NULL DEFAULT '',
    project TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL CHECK (type <> ''),
    entity_url TEXT NOT NULL DEFAULT '',
    count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_message TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL CHECK (severity IN ('low', 'moderate', 'high')),
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'resolved')),
    UNIQUE (type, entity_url, project, location)
);
`

// updateFromV5 creates the managed networks and their configuration. state is one of pending, created, errored
// (as LXD reports it); a network is "pending" from the start of its creation until its interfaces exist.
const updateFromV5 = `
CREATE TABLE networks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    type TEXT NOT NULL DEFAULT 'bridge' CHECK (type <> ''),
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'errored'))
);

CREATE TABLE networks_config (
    network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (network_id, key)
);
`

// updateFromV6 creates the storage pools, their volumes (type container, image or custom, as LXD names them) and
// the volumes' snapshots.
const updateFromV6 = `
CREATE TABLE storage_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    driver TEXT NOT NULL CHECK (driver <> ''),
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'errored'))
);

CREATE TABLE storage_pools_config (
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_pool_id, key)
);

CREATE TABLE storage_volumes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE RESTRICT,
    name TEXT NOT NULL CHECK (name <> ''),
    type TEXT NOT NULL CHECK (type IN ('container', 'virtual-machine', 'image', 'custom')),
    content_type TEXT NOT NULL DEFAULT 'filesystem' CHECK (content_type IN ('filesystem', 'block')),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    UNIQUE (storage_pool_id, name, type)
);

CREATE TABLE storage_volumes_config (
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_volume_id, key)
);

CREATE TABLE storage_volumes_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    expiry_date TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    UNIQUE (storage_volume_id, name)
);
`

// updateFromV7 creates the projects and their configuration, with the default project as LXD 5.0.2 shows it.
const updateFromV7 = `
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE projects_config (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (project_id, key)
);

INSERT INTO projects (name, description) VALUES ('default', 'Default LXD project');

INSERT INTO projects_config (project_id, key, value)
    SELECT id, 'features.images', 'true' FROM projects WHERE name = 'default'
    UNION ALL SELECT id, 'features.profiles', 'true' FROM projects WHERE name = 'default'
    UNION ALL SELECT id, 'features.storage.volumes', 'true' FROM projects WHERE name = 'default'
    UNION ALL SELECT id, 'features.networks', 'true' FROM projects WHERE name = 'default';
`

// updateFromV8 gives images and their aliases a project: an image is recorded once per project that holds it (its
// files, named by fingerprint, are shared), and an alias name is unique within its project. Existing rows belong to
// default. The tables are rebuilt, children first out and parents first in, so that no cascade fires.
const updateFromV8 = `
CREATE TABLE images_v9 (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL
        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    project TEXT NOT NULL DEFAULT 'default' CHECK (project <> ''),
    filename TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL CHECK (size >= 0),
    public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    architecture TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'container' CHECK (type IN ('container', 'virtual-machine')),
    creation_date TEXT,
    expiry_date TEXT,
    upload_date TEXT NOT NULL,
    last_use_date TEXT,
    cached INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0, 1)),
    auto_update INTEGER NOT NULL DEFAULT 0 CHECK (auto_update IN (0, 1)),
    UNIQUE (fingerprint, project)
);

INSERT INTO images_v9 (id, fingerprint, project, filename, size, public, architecture, type, creation_date,
    expiry_date, upload_date, last_use_date, cached, auto_update)
    SELECT id, fingerprint, 'default', filename, size, public, architecture, type, creation_date, expiry_date,
        upload_date, last_use_date, cached, auto_update FROM images;

CREATE TABLE images_properties_v9 (
    image_id INTEGER NOT NULL REFERENCES images_v9 (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (image_id, key)
);

INSERT INTO images_properties_v9 (image_id, key, value) SELECT image_id, key, value FROM images_properties;

CREATE TABLE images_aliases_v9 (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL CHECK (name <> ''),
    project TEXT NOT NULL DEFAULT 'default' CHECK (project <> ''),
    image_id INTEGER NOT NULL REFERENCES images_v9 (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (name, project)
);

INSERT INTO images_aliases_v9 (id, name, project, image_id, description)
    SELECT id, name, 'default', image_id, description FROM images_aliases;

CREATE TABLE images_source_v9 (
    image_id INTEGER NOT NULL UNIQUE REFERENCES images_v9 (id) ON DELETE CASCADE,
    server TEXT NOT NULL,
    protocol TEXT NOT NULL,
    certificate TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT '',
    image_type TEXT NOT NULL DEFAULT ''
);

INSERT INTO images_source_v9 (image_id, server, protocol, certificate, alias, image_type)
    SELECT image_id, server, protocol, certificate, alias, image_type FROM images_source;

DROP TABLE images_source;
DROP TABLE images_aliases;
DROP TABLE images_properties;
DROP TABLE images;

ALTER TABLE images_v9 RENAME TO images;
ALTER TABLE images_properties_v9 RENAME TO images_properties;
ALTER TABLE images_aliases_v9 RENAME TO images_aliases;
ALTER TABLE images_source_v9 RENAME TO images_source;

CREATE INDEX images_aliases_image_id ON images_aliases (image_id);
CREATE INDEX images_project ON images (project);
`

// updateFromV9 gives custom storage volumes their project: a volume name is unique per pool, type and project.
const updateFromV9 = `
CREATE TABLE storage_volumes_v10 (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE RESTRICT,
    project TEXT NOT NULL DEFAULT 'default' CHECK (project <> ''),
    name TEXT NOT NULL CHECK (name <> ''),
    type TEXT NOT NULL CHECK (type IN ('container', 'virtual-machine', 'image', 'custom')),
    content_type TEXT NOT NULL DEFAULT 'filesystem' CHECK (content_type IN ('filesystem', 'block')),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    UNIQUE (storage_pool_id, project, name, type)
);

INSERT INTO storage_volumes_v10 (id, storage_pool_id, project, name, type, content_type, description, creation_date)
    SELECT id, storage_pool_id, 'default', name, type, content_type, description, creation_date FROM storage_volumes;

CREATE TABLE storage_volumes_config_v10 (
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes_v10 (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_volume_id, key)
);

INSERT INTO storage_volumes_config_v10 (storage_volume_id, key, value)
    SELECT storage_volume_id, key, value FROM storage_volumes_config;

CREATE TABLE storage_volumes_snapshots_v10 (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes_v10 (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    expiry_date TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    UNIQUE (storage_volume_id, name)
);

INSERT INTO storage_volumes_snapshots_v10 (id, storage_volume_id, name, description, creation_date, expiry_date, config)
    SELECT id, storage_volume_id, name, description, creation_date, expiry_date, config FROM storage_volumes_snapshots;

DROP TABLE storage_volumes_snapshots;
DROP TABLE storage_volumes_config;
DROP TABLE storage_volumes;

ALTER TABLE storage_volumes_v10 RENAME TO storage_volumes;
ALTER TABLE storage_volumes_config_v10 RENAME TO storage_volumes_config;
ALTER TABLE storage_volumes_snapshots_v10 RENAME TO storage_volumes_snapshots;

CREATE INDEX storage_volumes_project ON storage_volumes (project);
`

// updateFromV10 adds the cluster members. A server that is not clustered has none; the first member is added when
// clustering is enabled, the others when they join. heartbeat is the UTC time (RFC 3339) the member last reported
// itself alive; state is 0 for a member in service, 1 for one that is joining and 2 for an evacuated one.
const updateFromV10 = `
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL UNIQUE CHECK (address <> ''),
    schema INTEGER NOT NULL,
    api_extensions INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    failure_domain TEXT NOT NULL DEFAULT 'default' CHECK (failure_domain <> ''),
    heartbeat TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2))
);

CREATE TABLE nodes_config (
    node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    key TEXT NOT NULL CHECK (key <> ''),
    value TEXT NOT NULL,
    UNIQUE (node_id, key)
);

CREATE TABLE nodes_roles (
    node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('event-hub', 'ovn-chassis')),
    UNIQUE (node_id, role)
);
`

// updateFromV11 records what belongs to one cluster member. An instance runs on the member of its node_id. A
// storage pool key with a node_id (its source, size and the like) is that member's own value; one without applies
// to every member. A server that is not clustered leaves both NULL.
const updateFromV11 = `
ALTER TABLE instances ADD COLUMN node_id INTEGER REFERENCES nodes (id) ON DELETE RESTRICT;

CREATE INDEX instances_node_id ON instances (node_id);

CREATE TABLE storage_pools_config_v11 (
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
    node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);

INSERT INTO storage_pools_config_v11 (storage_pool_id, node_id, key, value)
    SELECT storage_pool_id, NULL, key, value FROM storage_pools_config;

DROP TABLE storage_pools_config;

ALTER TABLE storage_pools_config_v11 RENAME TO storage_pools_config;

CREATE UNIQUE INDEX storage_pools_config_key ON storage_pools_config (storage_pool_id, IFNULL(node_id, 0), key);
`

// updateFromV12 lets the trust store hold server certificates: those of the servers a join token admitted into the
// cluster. The projects of each certificate move with it.
const updateFromV12 = `
CREATE TABLE certificates_v12 (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE
        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    type TEXT NOT NULL CHECK (type IN ('client', 'metrics', 'server')),
    name TEXT NOT NULL,
    certificate TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1))
);

INSERT INTO certificates_v12 (id, fingerprint, type, name, certificate, restricted)
    SELECT id, fingerprint, type, name, certificate, restricted FROM certificates;

CREATE TABLE certificates_projects_v12 (
    certificate_id INTEGER NOT NULL REFERENCES certificates_v12 (id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    UNIQUE (certificate_id, project)
);

INSERT INTO certificates_projects_v12 (certificate_id, project)
    SELECT certificate_id, project FROM certificates_projects;

DROP TABLE certificates_projects;
DROP TABLE certificates;

ALTER TABLE certificates_v12 RENAME TO certificates;
ALTER TABLE certificates_projects_v12 RENAME TO certificates_projects;
`
