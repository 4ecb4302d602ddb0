package browser

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPatientAndProviderChat is the whole story of issue 8, step by step,
// with a screenshot of each step in artifacts/. Steps depend on the ones
// before, so they are not subtests: the first failure stops the test (and
// the pages, made by this test, may call t.Fatal from any step).
func TestPatientAndProviderChat(t *testing.T) {
	step := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		t.Logf("step %q: %v", name, time.Since(start).Round(time.Millisecond))
	}
	srv := startServer(t)
	browser := newBrowser(t)

	var users []demoUser
	srv.call(http.MethodGet, "/api/v1/demo/users", "", nil, &users)
	patient, provider, threadID := pickPair(t, srv, users)
	t.Logf("patient %s, provider %s, thread %s", patient.ID, provider.ID, threadID)

	// The provider's second phone session goes through a link the test can
	// cut (see the restart step).
	provLink := startTCPProxy(t, srv.addr)

	// The patient on a laptop, the provider on a phone-sized screen.
	pat := newPage(t, browser, "patient", 1100, 760)
	prov := newPage(t, browser, "provider", 375, 740)

	step("sign in as demo users", func() {
		signIn(pat, srv.url(""), patient, threadID)
		pat.shot("01-signed-in")
		signIn(prov, srv.url(""), provider, threadID)
		prov.shot("01-signed-in")
	})

	step("both open the thread and see each other online", func() {
		openThread(pat, threadID)
		openThread(prov, threadID)
		pat.waitJS("provider shown online", `document.querySelector('#thread-presence').dataset.online === 'true'`)
		prov.waitJS("patient shown online", `document.querySelector('#thread-presence').dataset.online === 'true'`)
		pat.shot("02-thread-open")
		prov.shot("02-thread-open")
	})

	stamp := strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	texts := []string{"first " + stamp, "second " + stamp, "third " + stamp}

	step("messages arrive live and in order", func() {
		for _, text := range texts {
			send(pat, text)
		}
		prov.waitJS("three messages in order", tailIs(texts))
		pat.waitJS("three messages stored", fmt.Sprintf(`document.querySelectorAll('#messages .msg.mine[data-seq]').length >= 3 && %s`, tailIs(texts)))
		assertOnce(prov, texts)
		pat.shot("03-sent")
		prov.shot("03-received")
	})

	step("typing indicator appears and expires", func() {
		draft := "Let me check your res"
		prov.do("typing", chromedp.SendKeys(chromedp.CSS("#compose-input"), draft))
		pat.waitJS("typing line", fmt.Sprintf(`document.querySelector('#typing').dataset.active === 'true' && document.querySelector('#typing').textContent.includes(%q)`, provider.Name))
		pat.shot("04-typing-shown")
		// No more keystrokes: the receiver expires the indicator by itself.
		pat.waitJS("typing line gone", `document.querySelector('#typing').dataset.active === 'false' && document.querySelector('#typing').textContent === ''`)
		pat.shot("05-typing-gone")
		// Erase the draft as a person would, key by key: the composer
		// ends empty (and the client sends typing-stop on the way).
		prov.do("erase draft", chromedp.SendKeys(chromedp.CSS("#compose-input"), strings.Repeat(kb.Backspace, len(draft))))
		prov.waitJS("composer empty", `document.querySelector('#compose-input').value === ''`)
	})

	step("read tick appears after the other side views", func() {
		// The provider goes back to the inbox (phone layout), so the next
		// message is delivered but not seen.
		prov.do("back to inbox", chromedp.Click(chromedp.CSS("#back")))
		prov.waitJS("inbox shown", `!document.body.classList.contains('thread-open')`)
		text := "Did the new dose help? " + stamp
		send(pat, text)
		seq := evalJS[int](pat, fmt.Sprintf(`(async () => {
			for (let i = 0; i < 600; i++) {
				const el = [...document.querySelectorAll('#messages .msg.mine[data-seq]')].find((e) => e.textContent.includes(%q));
				if (el) return Number(el.dataset.seq);
				await new Promise((r) => setTimeout(r, 50));
			}
			return 0;
		})()`, text))
		if seq == 0 {
			pat.fail("stored seq of the new message", fmt.Errorf("never stored"))
		}
		prov.waitJS("unread badge", fmt.Sprintf(`!!document.querySelector('[data-thread-id=%q] .badge')`, threadID))
		prov.shot("06-inbox-unread")
		// Nobody has opened it: the tick must say sent, not read.
		read := evalJS[string](pat, fmt.Sprintf(`document.querySelector('.msg.mine[data-seq="%d"] .tick').dataset.read`, seq))
		if read != "false" {
			t.Fatalf("tick of an unseen message says read=%s", read)
		}
		pat.shot("06-tick-sent")
		openThread(prov, threadID)
		pat.waitJS("read tick", fmt.Sprintf(`document.querySelector('.msg.mine[data-seq="%d"] .tick').dataset.read === 'true'`, seq))
		prov.waitJS("badge cleared", fmt.Sprintf(`!document.querySelector('[data-thread-id=%q] .badge')`, threadID))
		pat.shot("07-tick-read")
	})

	step("presence flips when the provider closes the app", func() {
		prov.close()
		pat.waitJS("provider offline", `document.querySelector('#thread-presence').dataset.online === 'false' && /last seen|offline/.test(document.querySelector('#thread-presence').textContent)`)
		pat.shot("08-provider-offline")
		// Back on the phone, whose network the restart step below cuts.
		prov = newPage(t, browser, "provider2", 375, 740)
		signIn(prov, provLink.url(), provider, threadID)
		openThread(prov, threadID)
		pat.waitJS("provider online again", `document.querySelector('#thread-presence').dataset.online === 'true'`)
		pat.shot("09-provider-back")
	})

	step("server restart: banner, then catch-up", func() {
		srv.kill()
		lost := `!document.querySelector('#banner').hidden && /lost|Offline|polling/.test(document.querySelector('#banner').textContent)`
		pat.waitJS("banner at the patient", lost)
		prov.waitJS("banner at the provider", lost)
		pat.shot("10-server-down")
		prov.shot("10-server-down")
		// The provider's phone stays cut off until the messages below are
		// stored, so it can only learn of them by catching up.
		provLink.setCut(true)
		srv.restart()
		missed := []string{"while you were away 1 " + stamp, "while you were away 2 " + stamp}
		for i, text := range missed {
			srv.call(http.MethodPost, "/api/v1/threads/"+threadID+"/messages", patient.Token,
				map[string]any{"clientId": fmt.Sprintf("e2e-%s-%d", stamp, i), "content": text, "attachments": []string{}}, nil)
		}
		if evalJS[bool](prov, tailIs(missed[:1])) || evalJS[bool](prov, tailIs(missed[1:])) {
			t.Fatal("the provider shows messages stored while it was cut off: the test would not exercise catch-up")
		}
		provLink.setCut(false)
		prov.waitJS("missed messages", tailIs(missed))
		pat.waitJS("missed messages at the sender", tailIs(missed))
		banner := `document.querySelector('#banner').hidden`
		prov.waitJS("banner gone at the provider", banner)
		pat.waitJS("banner gone at the patient", banner)
		assertOnce(prov, append(append([]string{}, texts...), missed...))
		assertOnce(pat, missed)
		pat.shot("11-caught-up")
		prov.shot("11-caught-up")
	})

	var blocked *page
	step("WebSockets blocked: the page long-polls and still gets messages", func() {
		proxy := startWSBlockingProxy(t, srv)
		blocked = newPage(t, browser, "blocked", 375, 740)
		signIn(blocked, proxy, provider, threadID)
		openThread(blocked, threadID)
		blocked.waitJS("polling banner", `document.querySelector('#banner').dataset.state === 'polling' && !document.querySelector('#banner').hidden`)
		text := "sent to a polling client " + stamp
		send(pat, text)
		blocked.waitJS("message by long-poll", tailIs([]string{text}))
		assertOnce(blocked, []string{text})
		if evalJS[bool](blocked, `window.parleyApp.link.everConnected`) {
			t.Fatal("the page behind the WebSocket-refusing proxy had a socket: the message may not have come by polling")
		}
		blocked.shot("12-long-polling")
		blocked.close()
	})

	step("an attachment round-trips", func() {
		file, sum := writePNG(t)
		pat.do("pick file", chromedp.SetUploadFiles(chromedp.CSS("#compose-file"), []string{file}))
		pat.waitJS("upload done", `!!document.querySelector('#uploads li[data-done="true"]')`)
		pat.shot("13-upload-ready")
		pat.do("send attachment", chromedp.Click(chromedp.CSS("#compose-send")))
		// The picture is 320 px wide; the page asks for ?thumb=160.
		thumbLoaded := `[...document.querySelectorAll('#messages .attachment img.thumb')].some((i) => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 160)`
		pat.waitJS("own thumbnail", thumbLoaded)
		prov.waitJS("thumbnail at the provider", thumbLoaded)
		// The provider downloads the original with their own token, as the
		// Download button does.
		id := evalJS[string](prov, `[...document.querySelectorAll('#messages .msg.theirs .attachment')].pop().dataset.attachmentId`)
		got := srv.download("/api/v1/attachments/"+url.PathEscape(id), provider.Token)
		if got != sum {
			t.Fatalf("downloaded attachment sha256 %s, uploaded %s", got, sum)
		}
		pat.shot("14-attachment-sent")
		prov.shot("14-attachment-received")
	})

	step("no CSP violations", func() {
		for _, p := range []*page{pat, prov, blocked} {
			if v := p.cspViolations(); len(v) > 0 {
				t.Errorf("%s: %v", p.name, v)
			}
		}
	})
}

// pickPair finds a demo patient and a provider who share a thread.
func pickPair(t *testing.T, srv *server, users []demoUser) (patient, provider demoUser, threadID string) {
	t.Helper()
	byID := map[string]demoUser{}
	for _, u := range users {
		byID[u.ID] = u
	}
	for _, u := range users {
		if u.Role != "patient" {
			continue
		}
		for _, th := range srv.threadsOf(u.Token) {
			for _, p := range th.Participants {
				if prov, ok := byID[p.ID]; ok && prov.Role == "provider" {
					return u, prov, th.ID
				}
			}
		}
	}
	t.Fatalf("no demo patient shares a thread with a demo provider; users: %+v", users)
	return
}

// signIn opens the app at base (the server, or a proxy in front of it) and
// picks u on the demo sign-in page.
func signIn(p *page, base string, u demoUser, threadID string) {
	p.t.Helper()
	p.do("open the app", chromedp.Navigate(base+"/"))
	p.waitJS("demo sign-in list", fmt.Sprintf(`!!document.querySelector('.signin-user[data-user-id=%q]')`, u.ID))
	p.shot("00-sign-in")
	p.do("sign in as "+u.Name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.signin-user[data-user-id=%q]`, u.ID))))
	p.waitJS("inbox with the thread", fmt.Sprintf(`!!document.querySelector('#thread-list [data-thread-id=%q]')`, threadID))
	p.waitJS("who am I", fmt.Sprintf(`document.querySelector('#whoami').textContent.includes(%q)`, u.Name))
}

func openThread(p *page, threadID string) {
	p.t.Helper()
	p.do("open thread", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#thread-list [data-thread-id=%q]`, threadID))))
	p.waitJS("thread history", `!document.querySelector('#thread').hidden && document.querySelectorAll('#messages .msg').length > 0`)
}

func send(p *page, text string) {
	p.t.Helper()
	p.do("send "+text,
		chromedp.SendKeys(chromedp.CSS("#compose-input"), text),
		chromedp.Click(chromedp.CSS("#compose-send")),
	)
	p.waitJS("composer cleared", `document.querySelector('#compose-input').value === ''`)
}

// tailIs is a predicate: the last message texts on the page are want, in
// that order.
func tailIs(want []string) string {
	return fmt.Sprintf(`(() => {
		const want = %s;
		const got = [...document.querySelectorAll('#messages .msg .content')].map((e) => e.textContent);
		const tail = got.slice(-want.length);
		return tail.length === want.length && tail.every((t, i) => t === want[i]);
	})()`, jsArray(want))
}

// assertOnce fails when any of texts shows more or less than once.
func assertOnce(p *page, texts []string) {
	p.t.Helper()
	counts := evalJS[map[string]int](p, fmt.Sprintf(`(() => {
		const want = %s;
		const got = [...document.querySelectorAll('#messages .msg .content')].map((e) => e.textContent);
		return Object.fromEntries(want.map((w) => [w, got.filter((g) => g === w).length]));
	})()`, jsArray(texts)))
	for _, text := range texts {
		if counts[text] != 1 {
			p.shot("FAILED-duplicates")
			p.t.Fatalf("%s: %q shown %d times, want once", p.name, text, counts[text])
		}
	}
}

func jsArray(ss []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

// writePNG makes a small gradient image and returns its path and sha256.
func writePNG(t *testing.T) (string, string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / 320), G: uint8(y * 255 / 200), B: 160, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x-ray.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, hex.EncodeToString(sum[:])
}
