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

// RelayEvents listens to the operation and lifecycle events of every other member and passes those that member sent
// itself to relay, until ctx ends, so that a client connected to any member sees the events of all. Each member
// relays only what the member it listens to originated, so nothing goes round twice.
func (m *Manager) RelayEvents(ctx context.Context, relay func(api.Event)) {
	var mu sync.Mutex
	listening := map[string]bool{}
	for {
		members, err := m.OtherMembers(ctx)
		if err == nil {
			for _, member := range members {
				mu.Lock()
				busy := listening[member.Address]
				listening[member.Address] = true
				mu.Unlock()
				if busy {
					continue
				}

				go func() {
					m.listenEvents(ctx, member, relay)
					mu.Lock()
					delete(listening, member.Address)
					mu.Unlock()
				}()
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(relayCheckInterval):
		}
	}
}

// listenEvents relays the events member originates until its connection ends or ctx does.
func (m *Manager) listenEvents(ctx context.Context, member MemberRef, relay func(api.Event)) {
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
