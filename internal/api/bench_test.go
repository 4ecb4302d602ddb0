package api

import (
	"bytes"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkSendHTTP measures a persisted send through the whole HTTP edge
// (auth, decode, rate limiter off, SQLite group commit) with parallel
// clients; ns/op is the inverse of throughput across all of them.
func BenchmarkSendHTTP(b *testing.B) {
	e := newEnv(b, nil)
	tid := e.thread()
	url := e.srv.URL + "/api/v1/threads/" + tid + "/messages"
	// Keep a connection per client: the default of 2 idle connections
	// per host would measure TCP dialing instead of the API.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"clientId":"b-%d","content":"benchmark message"}`, n.Add(1))
			req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.tokens["pat"])
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
