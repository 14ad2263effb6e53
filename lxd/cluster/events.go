package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/shared/api"
)

// relayCheckInterval is how often the relay looks for members it does not listen to yet (joined, or back online).
const relayCheckInterval = 5 * time.Second

// relayWait bounds how long a forwarded request waits for this member to listen to the events of the member it
// goes to.
const relayWait = 3 * time.Second

// relayState is what the relay of events knows: where it runs, and the members it listens to.
type relayState struct {
	mu      sync.Mutex
	ctx     context.Context
	relay   func(api.Event)
	members map[string]chan struct{}
}

// RelayEvents listens to the operation and lifecycle events of every other member and passes those that member sent
// itself to relay, until ctx ends, so that a client connected to any member sees the events of all. Each member
// relays only what the member it listens to originated, so nothing goes round twice.
func (m *Manager) RelayEvents(ctx context.Context, relay func(api.Event)) {
	m.relay.mu.Lock()
	m.relay.ctx, m.relay.relay, m.relay.members = ctx, relay, map[string]chan struct{}{}
	m.relay.mu.Unlock()
	for {
		members, err := m.OtherMembers(ctx)
		if err == nil {
			for _, member := range members {
				m.startRelay(member)
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(relayCheckInterval):
		}
	}
}

// startRelay starts listening to member's events unless it is listened to already, and returns the channel closed
// once the connection is up; nil before RelayEvents runs.
func (m *Manager) startRelay(member MemberRef) chan struct{} {
	m.relay.mu.Lock()
	defer m.relay.mu.Unlock()
	if m.relay.ctx == nil {
		return nil
	}

	connected, ok := m.relay.members[member.Address]
	if ok {
		return connected
	}

	connected = make(chan struct{})
	m.relay.members[member.Address] = connected
	ctx, relay := m.relay.ctx, m.relay.relay
	go func() {
		m.listenEvents(ctx, member, relay, connected)
		m.relay.mu.Lock()
		delete(m.relay.members, member.Address)
		m.relay.mu.Unlock()
	}()

	return connected
}

// WaitRelay makes sure this member listens to the events of the member at address before a request is forwarded
// there, waiting a few seconds at most: the events of the operation the request starts must reach this member's
// clients (the stock client waits for an operation through them).
func (m *Manager) WaitRelay(ctx context.Context, address string) {
	m.relay.mu.Lock()
	connected, ok := m.relay.members[address]
	m.relay.mu.Unlock()
	if !ok {
		members, err := m.OtherMembers(ctx)
		if err != nil {
			return
		}

		for _, member := range members {
			if member.Address == address {
				connected = m.startRelay(member)
			}
		}
	}

	if connected == nil {
		return
	}

	select {
	case <-connected:
	case <-ctx.Done():
	case <-time.After(relayWait):
		slog.Warn("forwarding a request to a cluster member whose events are not relayed yet", "address", address)
	}
}

// listenEvents relays the events member originates until its connection ends or ctx does; connected is closed once
// the connection is up.
func (m *Manager) listenEvents(ctx context.Context, member MemberRef, relay func(api.Event), connected chan struct{}) {
	tr, err := m.transport()
	if err != nil {
		return
	}

	dialer := websocket.Dialer{TLSClientConfig: tr.TLSClientConfig, HandshakeTimeout: 10 * time.Second}
	url := "wss://" + member.Address + "/1.0/events?all-projects=true&type=operation,lifecycle"
	conn, _, err := dialer.DialContext(ctx, url, nil)
	if err != nil {
		slog.Debug("cluster member events unreachable", "member", member.Name, "err", err)
		return
	}

	close(connected)
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	slog.Debug("relaying the events of a cluster member", "member", member.Name)
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}

		var ev api.Event
		err = json.Unmarshal(data, &ev)
		if err != nil || ev.Location != member.Name {
			continue
		}

		relay(ev)
	}
}
