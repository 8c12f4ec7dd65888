package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// The round trip of part 2's floor: one TCP connection to a peer that sends
// back every line it reads, after the delay the line asks for, as an XMPP
// server answers every IQ on muc-kick's stream when it gets to it; each
// request waits for its own line by id, as each of muc-kick's kicks waits
// for its IQ's reply.

type peer struct {
	conn net.Conn
	wmu  sync.Mutex // one writer at a time

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan struct{}
}

// dialPeer connects to the echo peer at addr, retrying for a few seconds
// while it starts.
func dialPeer(addr string) (*peer, error) {
	var c net.Conn
	var err error
	for range 50 {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	p := &peer{conn: c, waiting: map[uint64]chan struct{}{}}
	go p.read()
	return p, nil
}

// read hands each line that comes back to the request waiting for it.
func (p *peer) read() {
	r := bufio.NewReader(p.conn)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return // the waiters time out with their requests
		}
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		id, _ := strconv.ParseUint(string(f[0]), 10, 64)
		p.mu.Lock()
		ch := p.waiting[id]
		delete(p.waiting, id)
		p.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	}
}

// roundTrip sends one line to the peer and waits until it comes back,
// delay later.
func (p *peer) roundTrip(ctx context.Context, delay time.Duration) error {
	ch := make(chan struct{})
	p.mu.Lock()
	p.next++
	id := p.next
	p.waiting[id] = ch
	p.mu.Unlock()
	p.wmu.Lock()
	_, err := fmt.Fprintf(p.conn, "%d %d\n", id, delay)
	p.wmu.Unlock()
	if err == nil {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	p.mu.Lock()
	delete(p.waiting, id)
	p.mu.Unlock()
	return errors.Join(errors.New("round trip"), err)
}

// echo serves addr: every connection gets back each line it sends ("ID
// DELAY", DELAY in nanoseconds), DELAY later; what is due at once is sent
// in one write for whatever had come by then, as a server flushes what it
// has.
func echo(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go echoConn(c)
	}
}

func echoConn(c net.Conn) {
	defer c.Close()
	var mu sync.Mutex // w, from this goroutine and the timers'
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		var d time.Duration
		if f := bytes.Fields(line); len(f) == 2 {
			n, _ := strconv.ParseInt(string(f[1]), 10, 64)
			d = time.Duration(n)
		}
		if d > 0 {
			later := bytes.Clone(line)
			time.AfterFunc(d, func() {
				mu.Lock()
				defer mu.Unlock()
				_, _ = w.Write(later)
				_ = w.Flush()
			})
			continue
		}
		mu.Lock()
		_, _ = w.Write(line)
		if r.Buffered() == 0 {
			_ = w.Flush()
		}
		mu.Unlock()
	}
}
