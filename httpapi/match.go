package httpapi

import "strings"

// mayActOn reports whether the client's rooms cover room.
func (p *principal) mayActOn(room string) bool {
	if len(p.rooms) == 0 {
		return true
	}
	for _, pat := range p.rooms {
		if MatchRoom(pat, room) {
			return true
		}
	}
	return false
}

// MatchRoom reports whether room (a canonical bare JID) matches pattern, in
// which "*" stands for any text, including none. Both are in canonical form
// (see jid.ParseRoom).
//
// It takes time linear in len(room) + len(pattern), whatever the number of
// stars: the text before the first star must begin the room, the text after
// the last must end it, and each piece between stars is taken at its
// leftmost place after the previous one. Taking the leftmost place is never
// wrong, since a star can stretch over whatever a later place would have
// skipped, so nothing is ever tried twice (no backtracking).
func MatchRoom(pattern, room string) bool {
	first, rest, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == room
	}
	if !strings.HasPrefix(room, first) {
		return false
	}
	room = room[len(first):]
	middle, last := "", rest
	if i := strings.LastIndexByte(rest, '*'); i >= 0 {
		middle, last = rest[:i], rest[i+1:]
	}
	if !strings.HasSuffix(room, last) {
		return false
	}
	room = room[:len(room)-len(last)]
	for piece := range strings.SplitSeq(middle, "*") {
		i := strings.Index(room, piece)
		if i < 0 {
			return false
		}
		room = room[i+len(piece):]
	}
	return true
}
