-- muc-kick: what to add to prosody.cfg.lua (Prosody 0.12) so that muc-kick can
-- connect as an XEP-0114 external component and kick occupants of your rooms.
--
-- Replace kick.example.org, conference.example.org, the port 5347 and the
-- secret with your own values; the secret must match muc-kick's config.
-- muc-kick's own tests build their Prosody config from this file, so every
-- line below is known to work with Prosody 0.12.
--
-- The first three settings are global: put them above the first VirtualHost
-- or Component line of prosody.cfg.lua (or merge them with what is there).

-- Make the component a server admin. Prosody makes admins owners of every
-- room of every MUC component on this server, which lets muc-kick take the
-- moderator role it needs. A kick still needs muc-kick to be *in* the room:
-- it joins the room, kicks, and leaves.
-- To limit muc-kick to one MUC service, put this line inside that MUC
-- Component section instead of the global section.
admins = { "kick.example.org" }

-- The XEP-0114 listener muc-kick connects to. Keep it on loopback when
-- muc-kick runs on the same machine; the secret is sent only as a hash, but
-- the stream itself is not encrypted.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

-- Your MUC service, shown for reference: if prosody.cfg.lua already has it,
-- don't add it a second time.
Component "conference.example.org" "muc"

-- The muc-kick component itself. Its name must not be a VirtualHost.
Component "kick.example.org"
	component_secret = "change-me-muc-kick-secret"
