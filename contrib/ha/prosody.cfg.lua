-- muc-kick active/active: what to add to prosody.cfg.lua for two muc-kick
-- instances, each with its own component domain. Prosody accepts one
-- connection per component domain, so instances that share one domain are
-- one active and the others standbys; with a domain each, all are active and
-- a load balancer (haproxy.cfg here) spreads kicks over them.
--
-- For N instances, add kick3.example.org and so on to `admins` and a
-- Component section for each. Everything else is as in
-- contrib/prosody/muc-kick.cfg.lua (read its comments first). muc-kick's
-- tests build their Prosody config from this very file.
--
-- Instance 1's config.toml: [component] domain = "kick1.example.org"
-- Instance 2's config.toml: [component] domain = "kick2.example.org"
-- Both: the same [muc] domains and, behind haproxy, the same [http]
-- credentials (any instance must accept any client).

-- Global: every instance is a server admin, so each enters rooms as a
-- moderator (it must be in the room to kick).
admins = { "kick1.example.org", "kick2.example.org" }

component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

Component "conference.example.org" "muc"
	-- Prosody 13: admins are room owners only with this (see contrib/prosody).
	component_admins_as_room_owners = true

-- One component per instance. The secrets may differ.
Component "kick1.example.org"
	component_secret = "change-me-muc-kick-secret"

Component "kick2.example.org"
	component_secret = "change-me-muc-kick-secret"
