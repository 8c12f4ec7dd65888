-- Prosody 13 for compose.yaml, mounted read-only at
-- /etc/prosody/prosody.cfg.lua in the Prosody project's image. The lines
-- muc-kick needs are those of contrib/prosody/muc-kick.cfg.lua, which
-- explains each; one differs: the component listener is open on the compose
-- network, since muc-kick connects from a container of its own.
-- Replace example.org, conference.example.org and kick.example.org with
-- your domains, and the secret with your own (the same in
-- secrets/component-secret, which muc-kick reads).

-- The component is a server admin, so it enters every room as a moderator.
admins = { "kick.example.org" }

-- The XEP-0114 listener, on every interface of Prosody's container:
-- compose.yaml does not publish the port, so only the compose network
-- reaches it.
component_ports = { 5347 }
component_interfaces = { "*" }

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "ping"; "carbons"; "pep";
	"private"; "blocklist"; "vcard4"; "vcard_legacy"; "smacks"; "limits";
}
log = { info = "*console" }
certificates = "certs"

VirtualHost "example.org"

Component "conference.example.org" "muc"
	-- Prosody 13: admins own every room only with this option.
	component_admins_as_room_owners = true

Component "kick.example.org"
	component_secret = "change-me-muc-kick-secret"
