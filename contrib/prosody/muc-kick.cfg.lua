-- muc-kick: what to add to prosody.cfg.lua so that muc-kick can connect as an
-- XEP-0114 external component and kick occupants of your rooms.
--
-- Works unchanged on Prosody 0.12 (Debian 12) and Prosody 13 (Debian 13,
-- bookworm-backports): muc-kick's own tests build their Prosody config from
-- this very file and run against both.
--
-- Replace kick.example.org, conference.example.org, the port 5347 and the
-- secret with your own values; the secret must match muc-kick's config.
-- After registering, `muc-kick check -config /etc/muc-kick/config.toml`
-- proves the setup end to end.
--
-- The first three settings are global: put them above the first VirtualHost
-- or Component line of prosody.cfg.lua (or merge them with what is there).

-- All versions: make the component a server admin. A kick needs muc-kick to
-- be a moderator *in* the room (it enters, kicks, and leaves later:
-- muc.room_policy), and only
-- an owner or admin enters every room as a moderator.
-- To limit muc-kick to one MUC service, put this line inside that MUC
-- Component section instead of the global section.
admins = { "kick.example.org" }

-- All versions: the XEP-0114 listener muc-kick connects to. Keep it on
-- loopback when muc-kick runs on the same machine; the secret is sent only
-- as a hash, but the stream itself is not encrypted.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

-- Your MUC service, shown for reference: if prosody.cfg.lua already has it,
-- don't add it a second time, but add the option below to its section.
Component "conference.example.org" "muc"
	-- Prosody 13 and later: admins are owners of every room only with this
	-- option (it defaults to false since 13.0; without it muc-kick enters
	-- as a participant and every kick is refused). Prosody 0.12 always made
	-- admins owners and ignores the option, so it is safe on both.
	component_admins_as_room_owners = true

-- All versions: the muc-kick component itself. Its name must not be a
-- VirtualHost.
Component "kick.example.org"
	component_secret = "change-me-muc-kick-secret"
