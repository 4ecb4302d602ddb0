package sqlstore_test

import (
	"crypto/rand"
	"strings"
)

func randSuffix() string { return strings.ToLower(rand.Text()[:8]) }
