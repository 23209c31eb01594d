package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SignWebhook returns the X-Signature header value for a webhook body:
// "sha256=" and the hex HMAC-SHA256 of the raw body under the webhook secret.
func SignWebhook(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ValidWebhookSignature compares in constant time.
func ValidWebhookSignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(SignWebhook(secret, body)))
}
