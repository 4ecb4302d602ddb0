package pusher

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Sign returns hex(HMAC-SHA256(secret, message)), the signature every part
// of the protocol uses.
func Sign(secret, message string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// SignBytes is Sign over raw bytes (webhook bodies).
func SignBytes(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ChannelAuth returns the auth string an app server gives a client for a
// private or presence channel: "key:hex(hmac(socket_id:channel[:channel_data]))".
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	msg := socketID + ":" + channel
	if channelData != "" {
		msg += ":" + channelData
	}
	return key + ":" + Sign(secret, msg)
}

// UserAuth returns the auth string for pusher:signin:
// "key:hex(hmac(socket_id::user::user_data))".
func UserAuth(key, secret, socketID, userData string) string {
	return key + ":" + Sign(secret, socketID+"::user::"+userData)
}

// VerifyChannelAuth checks a subscription's auth string in constant time.
// channelData is the exact string the client sent: it is signed as received,
// never re-serialised. The key part must be this app's key.
func VerifyChannelAuth(key, secret, socketID, channel, channelData, auth string) bool {
	return equalAuth(ChannelAuth(key, secret, socketID, channel, channelData), auth)
}

// VerifyUserAuth checks a pusher:signin auth string in constant time.
func VerifyUserAuth(key, secret, socketID, userData, auth string) bool {
	return equalAuth(UserAuth(key, secret, socketID, userData), auth)
}

// equalAuth compares "key:sig" strings without leaking where they differ.
func equalAuth(want, got string) bool {
	// The key part is public; only the signature needs constant time, but
	// comparing the whole string with hmac.Equal covers both.
	if !strings.Contains(got, ":") {
		return false
	}
	return hmac.Equal([]byte(want), []byte(got))
}
