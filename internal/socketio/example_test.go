package socketio_test

import (
	"fmt"

	"github.com/siorelay/siorelay/internal/socketio"
)

func ExampleDecoder() {
	var dec socketio.Decoder
	msgs := []struct {
		data   string
		binary bool
	}{
		{`2/chat,7["message","hi"]`, false},
		{`51-["upload",{"_placeholder":true,"num":0}]`, false},
		{"\x01\x02", true},
		{`2["disconnect"]`, false},
	}
	for _, m := range msgs {
		p, done, err := dec.Add([]byte(m.data), m.binary)
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case !done:
			fmt.Println("waiting for", dec.Pending(), "attachment(s)")
		default:
			name, args, _ := socketio.EventName(p.Data)
			fmt.Printf("%s nsp=%s id=%d/%v name=%s args=%s attachments=%d\n",
				p.Type, p.Namespace, p.ID, p.HasID, name, args, len(p.Attachments))
		}
	}
	// Output:
	// EVENT nsp=/chat id=7/true name=message args="hi" attachments=0
	// waiting for 1 attachment(s)
	// BINARY_EVENT nsp=/ id=0/false name=upload args={"_placeholder":true,"num":0} attachments=1
	// error: invalid payload
}

func ExampleAppendPacket() {
	p := socketio.Packet{
		Type:        socketio.Ack,
		Namespace:   "/admin",
		ID:          12,
		HasID:       true,
		Data:        []byte(`[7,{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{9}},
	}
	fmt.Println(string(socketio.AppendPacket(nil, p)))
	// Output: 61-/admin,12[7,{"_placeholder":true,"num":0}]
}

func ExampleAppendEvent() {
	fmt.Println(string(socketio.AppendEvent(nil, "/", "message-back", []byte("1"), []byte(`"é"`), []byte(`{"a":null}`))))
	fmt.Println(string(socketio.AppendEventWithAck(nil, "/chat", 3, "ask")))
	fmt.Println(string(socketio.AppendAck(nil, "/chat", 3, []byte(`"ok"`))))
	// Output:
	// 2["message-back",1,"é",{"a":null}]
	// 2/chat,3["ask"]
	// 3/chat,3["ok"]
}

func ExampleAppendConnectError() {
	fmt.Println(string(socketio.AppendConnectError(nil, "/nope", "Invalid namespace", nil)))
	fmt.Println(string(socketio.AppendConnectError(nil, "/secure", "not authorized", []byte(`{"code":42}`))))
	fmt.Println(string(socketio.AppendConnect(nil, "/", "OINQgpWBAU4MaTveAAAA", "")))
	// Output:
	// 4/nope,{"message":"Invalid namespace"}
	// 4/secure,{"message":"not authorized","data":{"code":42}}
	// 0{"sid":"OINQgpWBAU4MaTveAAAA"}
}
