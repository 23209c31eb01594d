package providersim

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// RandomHex returns n random bytes as 2n upper-case hex digits, for simulated ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// RandomDigits returns n random decimal digits, for simulated tracking numbers.
func RandomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
