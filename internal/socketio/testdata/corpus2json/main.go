// Command corpus2json converts Go fuzz corpora into inputs for the capture
// scripts, so that what the fuzzers found can be replayed through the
// reference JS packages:
//
//	go run ./internal/socketio/testdata/corpus2json $(go env GOCACHE)/fuzz/github.com/siorelay/siorelay/internal/socketio/FuzzDecode > internal/socketio/testdata/fuzz_inputs.json
//	go run ./internal/socketio/testdata/corpus2json eio $(go env GOCACHE)/fuzz/github.com/siorelay/siorelay/internal/engineio/Fuzz{DecodePacket,DecodePayload} > internal/engineio/testdata/fuzz_inputs.json
//
// For FuzzDecode it writes the message sequences the fuzz target feeds (the
// text plus its attachments, and the two split variants); for the engineio
// corpora the []byte inputs. Inputs that are not valid UTF-8 are skipped
// (Node only ever sees decoded text).
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

func main() {
	if os.Args[1] == "eio" {
		eioInputs(os.Args[2:])
		return
	}
	dir := os.Args[1]
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	sort.Strings(files)
	var seqs [][]any
	seen := map[string]bool{}
	add := func(s []any) {
		b, _ := json.Marshal(s)
		if !seen[string(b)] {
			seen[string(b)] = true
			seqs = append(seqs, s)
		}
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < 4 {
			continue
		}
		lit := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		data, err := strconv.Unquote(lit)
		if err != nil || !utf8.ValidString(data) {
			continue
		}
		split, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(lines[2], "int("), ")"))
		nl := strings.TrimSuffix(strings.TrimPrefix(lines[3], "byte("), ")")
		var natt int
		if u, err := strconv.Unquote(nl); err == nil && len(u) == 1 {
			natt = int(u[0])
		} else if v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(lines[3], "uint8("), ")")); err == nil {
			natt = v
		} else {
			fmt.Fprintln(os.Stderr, "skip", f, lines[3]) // a byte(...) literal this tool does not parse
			continue
		}
		seq := []any{data}
		for i := 0; i < natt%12; i++ {
			seq = append(seq, map[string]string{"hex": hex.EncodeToString([]byte{byte(i), 0xFF})})
		}
		add(seq)
		if len(data) > 0 {
			if split < 0 {
				split = -split
			}
			k := split % (len(data) + 1)
			if utf8.ValidString(data[:k]) && utf8.ValidString(data[k:]) {
				add([]any{data[:k], map[string]string{"hex": hex.EncodeToString([]byte(data[k:]))}})
				add([]any{data[:k], data[k:]})
			}
		}
	}
	out, _ := json.Marshal(seqs)
	os.Stdout.Write(out)
}

// eioInputs collects the []byte inputs (valid UTF-8) of engine.io fuzz corpora.
func eioInputs(dirs []string) {
	var out []string
	seen := map[string]bool{}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		sort.Strings(files)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) < 2 {
				continue
			}
			data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil || !utf8.ValidString(data) || seen[data] {
				continue
			}
			seen[data] = true
			out = append(out, data)
		}
	}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
}
