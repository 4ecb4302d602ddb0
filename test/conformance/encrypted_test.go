package conformance

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
)

// TestGoSDKEncrypted: pusher-http-go encrypts with the master key, Parley
// relays the ciphertext, and the subscriber decrypts it with the shared
// secret the SDK's authorizer handed out.
func TestGoSDKEncrypted(t *testing.T) {
	s := startServer(t, serverOptions{})
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	sdk := s.goSDK()
	sdk.EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString(master)
	const ch = "private-encrypted-go"
	c := dial(t, s, "A", appKey)
	auth := authorize(t, sdk, c.SocketID, ch, nil)
	if auth["shared_secret"] == "" {
		t.Fatalf("the SDK gave no shared_secret: %v", auth)
	}
	c.MustSubscribe(ch, auth["auth"], "")

	plain := `{"diagnosis":"confidential","text":"ünïcödé <&>"}`
	if err := sdk.Trigger(ch, "note", json.RawMessage(plain)); err != nil {
		t.Fatalf("pusher-http-go Trigger on %s: %v", ch, err)
	}
	f := c.AwaitEvent("note", ch)
	if strings.Contains(f.Raw, "confidential") {
		t.Fatalf("plaintext on the wire: %s", f.Raw)
	}
	var box struct {
		Nonce      string `json:"nonce"`
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.Unmarshal([]byte(dataString(t, f)), &box); err != nil || box.Nonce == "" || box.Ciphertext == "" {
		t.Fatalf("encrypted data must be {nonce, ciphertext}: %s", f.Raw)
	}
	secret, _ := base64.StdEncoding.DecodeString(auth["shared_secret"])
	nonce, _ := base64.StdEncoding.DecodeString(box.Nonce)
	sealed, _ := base64.StdEncoding.DecodeString(box.Ciphertext)
	var key [32]byte
	var n [24]byte
	copy(key[:], secret)
	copy(n[:], nonce)
	opened, ok := secretbox.Open(nil, sealed, &n, &key)
	if !ok {
		t.Fatalf("ciphertext does not authenticate: the server changed it. frame %s", f.Raw)
	}
	var got, want any
	_ = json.Unmarshal(opened, &got)
	_ = json.Unmarshal([]byte(plain), &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decrypted %s, want %s", opened, plain)
	}

	// The SDK itself refuses several encrypted channels in one trigger…
	if err := sdk.TriggerMulti([]string{ch, "private-encrypted-go-2"}, "x", "{}"); err == nil {
		t.Errorf("pusher-http-go accepted a trigger to two encrypted channels")
	}
	// …and so must the server when a request does it anyway.
	body := fmt.Sprintf(`{"name":"x","channels":["private-encrypted-a","private-encrypted-b"],"data":%q}`, dataString(t, f))
	if status, resp := signedPost(t, s, "/apps/"+appID+"/events", body); status != http.StatusBadRequest {
		t.Errorf("POST /events to two encrypted channels: status %d (%s), want 400", status, resp)
	}
	body = fmt.Sprintf(`{"name":"x","channels":["public-a","private-encrypted-b"],"data":%q}`, dataString(t, f))
	if status, resp := signedPost(t, s, "/apps/"+appID+"/events", body); status != http.StatusBadRequest {
		t.Errorf("POST /events to a public and an encrypted channel: status %d (%s), want 400", status, resp)
	}
}

// signedPost sends body to path signed as the HTTP API requires (the
// signing rules of protocol reference §6.1), for requests the SDKs refuse
// to make.
func signedPost(t *testing.T, s *server, path, body string) (int, string) {
	t.Helper()
	sum := md5.Sum([]byte(body))
	params := map[string]string{
		"auth_key":       appKey,
		"auth_timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"auth_version":   "1.0",
		"body_md5":       hex.EncodeToString(sum[:]),
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, k+"="+params[k])
	}
	query := strings.Join(q, "&")
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte("POST\n" + path + "\n" + query))
	u := "http://" + s.Addr + path + "?" + query + "&auth_signature=" + hex.EncodeToString(mac.Sum(nil))
	resp, err := http.Post(u, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
