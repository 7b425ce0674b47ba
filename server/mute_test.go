package server_test

import (
	"testing"

	"github.com/chatd/chatd/protocol"
)

// TestClusterRoomMuted: a mute set through one node reaches the user's
// connection on the other node as room_muted, and that node's room lists
// read it from the shared store.
func TestClusterRoomMuted(t *testing.T) {
	nodes := startNodes(t, clusterModes[0], 2)
	acc := nodes[0].Register(t, "alice")
	onA, onB := nodes[0].Dial(t, acc.Token), nodes[1].Dial(t, acc.Token)
	onA.Welcome()
	onB.Welcome()
	onA.Ack("set_room_muted", map[string]any{"room": "general", "muted": true}, nil)
	var ev protocol.RoomMuted
	onB.Expect("room_muted", nil).Decode(t, &ev)
	if ev != (protocol.RoomMuted{Room: "general", Muted: true}) {
		t.Errorf("room_muted on the other node: %+v", ev)
	}
	var list protocol.RoomsAck
	onB.Ack("list_rooms", map[string]any{}, &list)
	for _, r := range list.Rooms {
		if r.Name == "general" && !r.Muted {
			t.Errorf("the other node's list_rooms: general not muted")
		}
	}
}
