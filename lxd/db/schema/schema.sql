-- Generated from the updates in updates.go; do not edit.
-- Regenerate: go test -tags libsqlite3 ./lxd/db/schema -run TestFreshSchema -update

CREATE TABLE "certificates" (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE
        CHECK (length(fingerprint) = 64 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
    type TEXT NOT NULL CHECK (type IN ('client', 'metrics', 'server')),
    name TEXT NOT NULL,
    certificate TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1))
);

CREATE TABLE "certificates_projects" (
    certificate_id INTEGER NOT NULL REFERENCES "certificates" (id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    UNIQUE (certificate_id, project)
);

CREATE TABLE config (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE "images" (
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

CREATE TABLE "images_aliases" (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL CHECK (name <> ''),
    project TEXT NOT NULL DEFAULT 'default' CHECK (project <> ''),
    image_id INTEGER NOT NULL REFERENCES "images" (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (name, project)
);

CREATE TABLE "images_properties" (
    image_id INTEGER NOT NULL REFERENCES "images" (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (image_id, key)
);

CREATE TABLE "images_source" (
    image_id INTEGER NOT NULL UNIQUE REFERENCES "images" (id) ON DELETE CASCADE,
    server TEXT NOT NULL,
    protocol TEXT NOT NULL,
    certificate TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT '',
    image_type TEXT NOT NULL DEFAULT ''
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
, node_id INTEGER REFERENCES nodes (id) ON DELETE RESTRICT);

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

CREATE TABLE patches (
    name TEXT PRIMARY KEY NOT NULL,
    applied_at TEXT NOT NULL
);

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

CREATE TABLE schema (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    version INTEGER NOT NULL UNIQUE,
    updated_at TEXT NOT NULL
);

CREATE TABLE storage_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
    driver TEXT NOT NULL CHECK (driver <> ''),
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'errored'))
);

CREATE TABLE "storage_pools_config" (
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
    node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE "storage_volumes" (
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

CREATE TABLE "storage_volumes_config" (
    storage_volume_id INTEGER NOT NULL REFERENCES "storage_volumes" (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_volume_id, key)
);

CREATE TABLE "storage_volumes_snapshots" (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_id INTEGER NOT NULL REFERENCES "storage_volumes" (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL,
    expiry_date TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    UNIQUE (storage_volume_id, name)
);

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

CREATE INDEX images_aliases_image_id ON images_aliases (image_id);

CREATE INDEX images_project ON images (project);

CREATE INDEX instances_node_id ON instances (node_id);

CREATE INDEX instances_profiles_profile_id ON instances_profiles (profile_id);

CREATE UNIQUE INDEX storage_pools_config_key ON storage_pools_config (storage_pool_id, IFNULL(node_id, 0), key);

CREATE INDEX storage_volumes_project ON storage_volumes (project);
