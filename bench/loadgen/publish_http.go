package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// httpPublisher makes the Node recovery baseline (bench/node/recovery.js)
// emit: one POST /bench/emit per batch, a JSON array of [event, args...],
// each broadcast by io.emit in order before the reply. The packets clients
// receive are those the relay sends for the same events from its gRPC
// EmitterService: 42["<ev>","<ts> <seq>","<pad>"] plus the offset.
type httpPublisher struct {
	url string
	cli *http.Client
	pad string
}

func newHTTPPublisher(url string, payloadSize int) *httpPublisher {
	return &httpPublisher{url: url, cli: &http.Client{}, pad: padding(payloadSize)}
}

func (p *httpPublisher) publish(ctx context.Context, msgs []message) error {
	if len(msgs) == 0 {
		return nil
	}
	body := []byte{'['}
	for i, m := range msgs {
		if m.Room != "" {
			return fmt.Errorf("httpPublisher: rooms are not supported (%q)", m.Room)
		}
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, '[')
		body = strconv.AppendQuote(body, string(m.Ev))
		body = append(body, ',', '"')
		body = strconv.AppendInt(body, m.TS, 10)
		body = append(body, ' ')
		body = strconv.AppendInt(body, m.Seq, 10)
		body = append(body, '"')
		if p.pad != "" {
			body = append(body, ',')
			body = strconv.AppendQuote(body, p.pad)
		}
		body = append(body, ']')
	}
	body = append(body, ']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.cli.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s %s", p.url, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

func (p *httpPublisher) close() error {
	p.cli.CloseIdleConnections()
	return nil
}

// errPublisherStopped ends a schedule run through a countingPublisher.
var errPublisherStopped = errors.New("loadgen: publisher stopped")

// countingPublisher counts the messages its publisher accepted, and stops
// accepting (errPublisherStopped) once stop is called, so that a schedule
// can run until told otherwise and the exact number published is known.
type countingPublisher struct {
	pub     publisher
	stopped atomic.Bool
	sent    atomic.Int64
}

func (p *countingPublisher) publish(ctx context.Context, msgs []message) error {
	if p.stopped.Load() {
		return errPublisherStopped
	}
	if err := p.pub.publish(ctx, msgs); err != nil {
		return err
	}
	p.sent.Add(int64(len(msgs)))
	return nil
}

func (p *countingPublisher) stop()        { p.stopped.Store(true) }
func (p *countingPublisher) close() error { return p.pub.close() }
