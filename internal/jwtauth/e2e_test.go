package jwtauth_test

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/internal/jwtauth"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
)

// TestRelayWithNodeClients runs a real relay with Verifier.Connect as its
// OnConnect and connects stock socket.io-client 4.8.4 clients: good tokens
// (in auth.token over WebSocket, in an Authorization header over polling)
// land in their user rooms with their claims as socket data; a forged, an
// expired and a missing token get connect_error with the verifier's
// message.
func TestRelayWithNodeClients(t *testing.T) {
	nodetest.Require(t)
	rk := rsaKeys()
	v, err := jwtauth.New(jwtauth.Config{
		PublicKeys: []crypto.PublicKey{&rk[0].PublicKey},
		Issuer:     "https://idp.test",
		Rooms:      []string{"user:{sub}", "{rooms}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.NewServer(relay.Config{OnConnect: v.Connect})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})

	now := time.Now()
	token := func(key any, c map[string]any) string {
		mc := jwt.MapClaims{"iss": "https://idp.test", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, x := range c {
			mc[k] = x
		}
		return sign(t, jwt.SigningMethodRS256, key, "", mc)
	}
	alice := token(rk[0], map[string]any{"sub": "alice", "rooms": []string{"chat", "ops"}})
	bob := token(rk[0], map[string]any{"sub": 7})
	forged := token(rk[1], map[string]any{"sub": "alice"})
	expired := token(rk[0], map[string]any{"sub": "alice", "exp": now.Add(-time.Minute).Unix()})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{
		URL: hs.URL,
		Clients: []nodetest.ClientConfig{
			{Name: "alice", Auth: map[string]any{"token": alice}},
			{Name: "bob", Transports: []string{"polling"}, ExtraHeaders: map[string]string{"Authorization": "Bearer " + bob}},
			{Name: "forged", Auth: map[string]any{"token": forged}},
			{Name: "expired", Auth: map[string]any{"token": expired}},
			{Name: "anonymous"},
		},
	})
	for _, tc := range []struct{ client, msg string }{
		{"forged", "invalid token"},
		{"expired", "token expired"},
		{"anonymous", "missing token"},
	} {
		msg, data, err := cl.WaitConnectError(ctx, tc.client)
		if err != nil {
			t.Fatal(err)
		}
		if msg != tc.msg || len(data) != 0 && string(data) != "null" {
			t.Errorf("%s: connect_error %q %s, want %q and no data", tc.client, msg, data, tc.msg)
		}
	}
	aliceID, err := cl.WaitConnected(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bobID, err := cl.WaitConnected(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		room, id string
		rooms    []string
		sub      any
	}{
		{"user:alice", aliceID, []string{aliceID, "user:alice", "chat", "ops"}, "alice"},
		{"chat", aliceID, []string{aliceID, "user:alice", "chat", "ops"}, "alice"},
		{"user:7", bobID, []string{bobID, "user:7"}, float64(7)},
	} {
		socks, err := srv.Of("/").To(tc.room).FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(socks) != 1 || socks[0].ID != tc.id {
			t.Fatalf("fetchSockets in %q = %+v, want only %s", tc.room, socks, tc.id)
		}
		got := slices.Clone(socks[0].Rooms)
		slices.Sort(got)
		want := slices.Clone(tc.rooms)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("rooms of %s = %v, want %v", tc.id, socks[0].Rooms, tc.rooms)
		}
		var data map[string]any
		if err := json.Unmarshal(socks[0].Data, &data); err != nil {
			t.Fatalf("data %s: %v", socks[0].Data, err)
		}
		if data["sub"] != tc.sub || data["iss"] != "https://idp.test" {
			t.Errorf("data of %s = %s", tc.id, socks[0].Data)
		}
	}

	// An emit to a user room reaches that user.
	if err := srv.Of("/").To("user:7").Emit(ctx, "hello", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Of("/").To("user:alice").Emit(ctx, "hello", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		ev, err := cl.WaitEvent(ctx, name, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Args) != 1 || string(ev.Args[0]) != `"`+name+`"` {
			t.Errorf("%s got hello %s", name, ev.Args)
		}
	}
}
