package engineio_test

import (
	"fmt"
	"time"

	"github.com/siorelay/siorelay/internal/engineio"
)

func ExampleAppendOpen() {
	b := engineio.AppendOpen(nil, engineio.Handshake{
		SID:          "OINQgpWBAU4MaTveAAAA",
		Upgrades:     []string{"websocket"},
		PingInterval: 25 * time.Second,
		PingTimeout:  20 * time.Second,
		MaxPayload:   1e6,
	})
	fmt.Println(string(b))
	// Output: 0{"sid":"OINQgpWBAU4MaTveAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
}

func ExampleAppendPayload() {
	b := engineio.AppendPayload(nil,
		engineio.Packet{Type: engineio.Message, Data: []byte("hello")},
		engineio.Packet{Type: engineio.Message, Data: []byte{1, 2, 3, 4}, Binary: true},
	)
	fmt.Printf("%q\n", b)
	// Output: "4hello\x1ebAQIDBA=="
}

func ExampleDecodePayload() {
	err := engineio.DecodePayload([]byte("4hello\x1ebAQIDBA==\x1e2"), func(p engineio.Packet) error {
		fmt.Printf("%s %q binary=%v\n", p.Type, p.Data, p.Binary)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message "hello" binary=false
	// message "\x01\x02\x03\x04" binary=true
	// ping "" binary=false
	// <nil>
}

func ExampleAppendPacket() {
	p := engineio.Packet{Type: engineio.Message, Data: []byte{1, 2, 3}, Binary: true}
	fmt.Printf("%q binary frame: %v\n", engineio.AppendPacket(nil, p, true), p.IsBinaryFrame(true))
	fmt.Printf("%q binary frame: %v\n", engineio.AppendPacket(nil, p, false), p.IsBinaryFrame(false))
	// Output:
	// "\x01\x02\x03" binary frame: true
	// "bAQID" binary frame: false
}

func ExampleAppendErrorJSON() {
	fmt.Println(engineio.UnknownSID.HTTPStatus(), string(engineio.AppendErrorJSON(nil, engineio.UnknownSID, "")))
	fmt.Println(engineio.Forbidden.HTTPStatus(), string(engineio.AppendErrorJSON(nil, engineio.Forbidden, "denied!")))
	// Output:
	// 400 {"code":1,"message":"Session ID unknown"}
	// 403 {"code":4,"message":"denied!"}
}
