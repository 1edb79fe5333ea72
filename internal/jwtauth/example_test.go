package jwtauth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/internal/jwtauth"
	"github.com/siorelay/siorelay/relay"
)

func ExampleVerifier_Connect() {
	key := []byte("a secret of at least 32 bytes...")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v, err := jwtauth.New(jwtauth.Config{
		HMACSecret: key,
		Rooms:      []string{"user:{sub}", "{rooms}"},
		Now:        func() time.Time { return now }, // for the example's fixed token
	})
	if err != nil {
		panic(err)
	}
	// relay.NewServer(relay.Config{OnConnect: v.Connect}) would call it so.
	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "rooms": []string{"lobby"}, "exp": now.Add(time.Hour).Unix(),
	}).SignedString(key)
	res, err := v.Connect(context.Background(), &relay.Handshake{Auth: []byte(`{"token":"` + token + `"}`)})
	fmt.Println(res.Rooms, err)
	_, err = v.Connect(context.Background(), &relay.Handshake{Auth: []byte(`{}`)})
	fmt.Println(err.(*relay.ConnectError).Message)
	// Output:
	// [user:alice lobby] <nil>
	// missing token
}
