package models

// ETIMEOUT is the code of a request whose body the server did not receive in
// time: 408. It sits beside the codes of errors.go and, like them, maps to
// exactly one HTTP status in the api package.
const ETIMEOUT = "timeout"
