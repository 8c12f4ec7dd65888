package muc

import "time"

// Policy says when the component leaves a room it entered, once no kick
// uses it; the hold below and room.go have the details.
type Policy int

const (
	// PolicyLinger leaves a room Linger after its last kick (the zero value).
	PolicyLinger Policy = iota
	// PolicyAdaptive stays in a room while staying costs the server less
	// than entering it again would: it leaves once the room has sent the
	// component, since the last kick, reentryCost stanzas per occupant (and
	// Linger has passed), or after MaxIdle without a kick.
	PolicyAdaptive
)

func (p Policy) String() string {
	if p == PolicyAdaptive {
		return "adaptive"
	}
	return "linger"
}

// idle is the hold sub-state: who uses the room and, once nobody does and
// the room is in, since when, what staying has cost, and the timer that
// ends the hold.
type idle struct {
	users      int         // kicks in progress, plus a running entry
	since      time.Time   // when the last kick ended (set by settle while in)
	spent      int         // stanzas the room sent us since
	overBudget bool        // spent passed what entering again costs
	evicted    bool        // evictOver chose the room to leave
	timer      *time.Timer // the hold
	gen        uint64      // tells the timer that fired from one re-armed since
}

// reentryCost is what entering a room again costs the server, in stanzas per
// occupant: the presence of each occupant sent to us on entry, and the
// broadcasts of our arrival and of our departure to each of them.
const reentryCost = 3

// settle decides what an unused room becomes: forgotten when out (by the
// Manager), held when in.
func (r *room) settle() change {
	if r.idle.users > 0 || r.closed || r.state == stateJoining {
		return change{}
	}
	if r.state == stateIn {
		r.idle.since, r.idle.spent, r.idle.overBudget, r.idle.evicted = time.Now(), 0, false, false
		hold := r.cfg.linger
		if r.cfg.policy == PolicyAdaptive && r.cfg.idle > 0 {
			hold = max(r.cfg.idle, r.cfg.linger)
		}
		if r.cfg.policy == PolicyLinger || r.cfg.idle > 0 {
			r.arm(hold)
		}
	}
	return change{unused: true}
}

// spend counts a stanza that an idle room, which is in, sent us; under
// PolicyAdaptive the room is left once staying has cost as much as entering
// again would (and Linger has passed since its last kick).
func (r *room) spend() {
	if r.cfg.policy != PolicyAdaptive || r.state != stateIn || r.idle.users > 0 || r.idle.overBudget || r.idle.evicted {
		return
	}
	r.idle.spent++
	if r.idle.spent < reentryCost*max(len(r.occupants), 1) {
		return
	}
	r.idle.overBudget = true
	r.arm(max(0, r.cfg.linger-time.Since(r.idle.since)))
}

// evict: the Manager chose this idle room to leave at once (MaxRooms).
func (r *room) evict() {
	r.idle.evicted = true
	r.arm(0)
}

// arm (re)starts the hold timer: it ends the hold after d unless a kick or
// another arm comes first.
func (r *room) arm(d time.Duration) {
	r.stopTimer()
	gen := r.idle.gen
	r.idle.timer = time.AfterFunc(d, func() { r.cfg.holdEnded(r, gen) })
}

// disarm stops the hold of a room in use; a timer that already fired finds
// its generation outdated. An eviction is called off.
func (r *room) disarm() {
	r.stopTimer()
	r.idle.evicted = false
}

func (r *room) stopTimer() {
	r.idle.gen++
	if r.idle.timer != nil {
		r.idle.timer.Stop()
	}
}
