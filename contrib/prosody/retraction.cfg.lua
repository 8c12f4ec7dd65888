-- muc-kick: what to add to prosody.cfg.lua so that muc-kick can retract
-- messages (POST /muc_retract: XEP-0425 moderated message retraction, the
-- messages found in the room's archive, XEP-0313).
--
-- Needs two modules on your MUC service: mod_muc_mam (part of Prosody) keeps
-- each room's archive, and mod_muc_moderation (from prosody-modules) retracts.
-- Install the prosody-modules made for your Prosody: on Debian,
--   apt-get install prosody-modules                          (Prosody 0.12, bookworm)
--   apt-get install -t bookworm-backports prosody-modules    (Prosody 13)
-- Debian's package puts the modules where Prosody finds them; from a
-- checkout of https://hg.prosody.im/prosody-modules/, name its folder in
-- plugin_paths (a global setting), e.g. plugin_paths = { "/usr/local/lib/prosody-modules" }.
--
-- Prosody 0.12 with bookworm's prosody-modules retracts with
-- urn:xmpp:message-moderate:0; Prosody 13 with the backports' with :0 and :1.
-- muc-kick uses whichever the room advertises.
--
-- Replace conference.example.org with your MUC service. If its Component
-- section already has a modules_enabled line, add the two modules to it
-- instead. Rooms archive their messages by default (muc_log_by_default);
-- a room whose owner turned archiving off has nothing to retract.
-- muc-kick's own tests add this very file to their Prosody config.

Component "conference.example.org" "muc"
	modules_enabled = { "muc_mam", "muc_moderation" }
