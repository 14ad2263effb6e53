{{ trigger }} {{ path }} {{ container.architecture }} privileged={{ container.privileged }}
{{ config_get("user.greeting", "none") }} {{ config_get("user.missing", properties.default) }}
root={{ devices.root.path }}
