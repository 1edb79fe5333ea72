// Package jwtauth authenticates Socket.IO connections with JSON Web Tokens,
// as an alternative to a backend connect hook: [Verifier.Connect] is a
// [relay.Config.OnConnect] that verifies the token a client sends, joins
// the socket to rooms named after its claims, and keeps the claims as the
// socket's data.
//
// Keys come from [Config.HMACSecret] (HS256/384/512), [Config.PublicKeys]
// (RS256/384/512, ES256/384/512; see [ParsePublicKeysPEM]) and a JWKS URL
// ([Config.JWKSURL], RSA and EC keys selected by kid, fetched lazily,
// refreshed when older than [Config.JWKSRefresh] or when a token names an
// unknown kid, at most once per [Config.JWKSMinInterval]). The key decides
// the algorithm: a token's alg header only selects among the algorithms of
// the configured keys, so an HMAC-signed token never verifies against an
// RSA or EC public key and "none" is never accepted. exp is required
// unless [Config.AllowNoExpiry]; exp, nbf and iat are checked with
// [Config.Leeway]; iss and aud are checked when [Config.Issuer] and
// [Config.Audience] are set.
//
// Typical use:
//
//	v, err := jwtauth.New(jwtauth.Config{
//		HMACSecret: secret,
//		Rooms:      []string{"user:{sub}", "{rooms}"},
//	})
//	if err != nil { ... }
//	srv, err := relay.NewServer(relay.Config{OnConnect: v.Connect})
//
// A client connects with io(url, {auth: {token}}) (or an Authorization:
// Bearer header where its transport can send one). A refused client gets
// connect_error with message "missing token", "invalid token", "token
// expired" or "token not yet valid", nothing more: why a signature failed
// is logged at debug level, never sent.
//
// Concurrency: a [Verifier] is immutable after [New] except for its JWKS
// cache, which is guarded by a mutex; all its methods are safe for
// concurrent use. At most one JWKS fetch runs at a time; callers that need
// a key it may bring wait for it (bounded by their context), the others
// keep using the keys already known. A fetch runs on a goroutine of its
// own and may outlive the call that started it, by at most 30 seconds and
// [Config.HTTPClient]'s timeout.
package jwtauth
