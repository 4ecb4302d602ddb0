package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/messenger"
)

// TestPriorSendCombined: many concurrent pre-send checks, answered by
// combined statements, each get their own answer — participant or not,
// client id used or not — on both stores.
func TestPriorSendCombined(t *testing.T) {
	onBothStores(t, func(t *testing.T, store messenger.Store) {
		svc, threads := openService(t, store, messenger.Config{}, 4)
		ctx := context.Background()
		sent := map[string]string{} // thread/client id → message id
		for i, th := range threads {
			m, _, err := svc.SendMessage(ctx, testPatient, th, messenger.NewMessage{ClientID: fmt.Sprint("sent-", i), Content: "x"})
			if err != nil {
				t.Fatal(err)
			}
			sent[th+"/"+m.ClientID] = m.ID
		}
		var wg sync.WaitGroup
		for g := range 400 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ti := (g / 4) % len(threads) // every thread sees every kind
				th := threads[ti]
				sender, client := testPatient.UserID, fmt.Sprint("sent-", ti)
				switch g % 4 {
				case 1:
					client = fmt.Sprint("new-", g) // not sent
				case 2:
					sender = "outsider" // not a participant
				case 3:
					sender = testProvider.UserID // a participant who did not send it
				}
				var got *messenger.Message
				err := store.Read(ctx, func(ctx context.Context, tx messenger.Tx) (err error) {
					got, err = tx.PriorSend(ctx, th, sender, client)
					return err
				})
				switch want := sent[th+"/"+client]; {
				case g%4 == 2:
					if messenger.ErrorCode(err) != messenger.ENOTFOUND {
						t.Errorf("check %d (outsider): err %v, want not found", g, err)
					}
				case err != nil:
					t.Errorf("check %d: %v", g, err)
				case g%4 == 0 && (got == nil || got.ID != want):
					t.Errorf("check %d: got %+v, want message %s", g, got, want)
				case g%4 != 0 && got != nil:
					t.Errorf("check %d: got %+v, want none", g, got)
				}
			}()
		}
		wg.Wait()
	})
}

// TestPriorSendAfterClose: a check made while or after the store closes
// fails at once instead of waiting for a checker that has stopped.
func TestPriorSendAfterClose(t *testing.T) {
	store := sqliteFactory(t)()
	store.Close()
	for range 100 {
		err := store.Read(context.Background(), func(ctx context.Context, tx messenger.Tx) error {
			_, err := tx.PriorSend(ctx, "t", "u", "c")
			return err
		})
		if err == nil {
			t.Fatal("PriorSend on a closed store succeeded")
		}
	}
}

// TestPriorSendInWrite: inside a write transaction PriorSend asks the
// database itself, in that transaction, and answers as outside it.
func TestPriorSendInWrite(t *testing.T) {
	onBothStores(t, func(t *testing.T, store messenger.Store) {
		svc, threads := openService(t, store, messenger.Config{}, 1)
		ctx := context.Background()
		m, _, err := svc.SendMessage(ctx, testPatient, threads[0], messenger.NewMessage{ClientID: "k1", Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		err = store.Write(ctx, func(ctx context.Context, tx messenger.Tx) error {
			if got, err := tx.PriorSend(ctx, threads[0], testPatient.UserID, "k1"); err != nil || got == nil || got.ID != m.ID {
				t.Errorf("sent key: %+v, %v; want %s", got, err, m.ID)
			}
			if got, err := tx.PriorSend(ctx, threads[0], testPatient.UserID, "k2"); err != nil || got != nil {
				t.Errorf("new key: %+v, %v; want none", got, err)
			}
			if _, err := tx.PriorSend(ctx, threads[0], "outsider", "k1"); messenger.ErrorCode(err) != messenger.ENOTFOUND {
				t.Errorf("outsider: %v, want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
