package muc

import "encoding/xml"

// Namespaces of moderated message retraction (XEP-0425): version 0.2
// (":0", fastened to the message, as Prosody 0.12's mod_muc_moderation
// knows it) and 0.3 (":1"), with the retraction (XEP-0424) each carries.
const (
	nsModerate0 = "urn:xmpp:message-moderate:0"
	nsModerate1 = "urn:xmpp:message-moderate:1"
	nsRetract0  = "urn:xmpp:message-retract:0"
	nsRetract1  = "urn:xmpp:message-retract:1"
	nsFasten    = "urn:xmpp:fasten:0"
)

// moderate1 retracts one message of a room (XEP-0425 0.3 §4).
type moderate1 struct {
	XMLName xml.Name `xml:"urn:xmpp:message-moderate:1 moderate"`
	ID      string   `xml:"id,attr"`
	Retract struct {
		XMLName xml.Name `xml:"urn:xmpp:message-retract:1 retract"`
	}
	Reason string `xml:"reason,omitempty"`
}

// applyTo0 retracts one message of a room (XEP-0425 0.2 §4): the
// moderation is fastened (XEP-0422) to the message.
type applyTo0 struct {
	XMLName  xml.Name `xml:"urn:xmpp:fasten:0 apply-to"`
	ID       string   `xml:"id,attr"`
	Moderate struct {
		XMLName xml.Name `xml:"urn:xmpp:message-moderate:0 moderate"`
		Retract struct {
			XMLName xml.Name `xml:"urn:xmpp:message-retract:0 retract"`
		}
		Reason string `xml:"reason,omitempty"`
	}
}

// moderation is a version of XEP-0425 a room supports.
type moderation int

const (
	noModeration moderation = iota
	moderation0             // urn:xmpp:message-moderate:0
	moderation1             // urn:xmpp:message-moderate:1
)

// roomFeatures is what a room's disco#info says it can do for a retraction.
type roomFeatures struct {
	moderation moderation // the newest version of XEP-0425 it advertises
	archive    bool       // whether it has a message archive (XEP-0313)
	extended   bool       // whether the archive takes the extended fields (ids)
}

// featuresOf reads the feature vars of a room's disco#info.
func featuresOf(vars []string) roomFeatures {
	var f roomFeatures
	for _, v := range vars {
		switch v {
		case nsModerate1:
			f.moderation = moderation1
		case nsModerate0:
			f.moderation = max(f.moderation, moderation0)
		case nsMAM:
			f.archive = true
		case nsMAMExtended:
			f.extended = true
		}
	}
	return f
}

// retractQuery is the payload that retracts the message with stanza id id
// in the version v of XEP-0425.
func retractQuery(v moderation, id, reason string) any {
	if v == moderation0 {
		q := applyTo0{ID: id}
		q.Moderate.Reason = reason
		return q
	}
	return moderate1{ID: id, Reason: reason}
}
