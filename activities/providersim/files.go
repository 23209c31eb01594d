package providersim

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
)

// LoadJSON reads a simulator's ledger file into v; a file that does not exist
// yet leaves v as it is and is no error.
func LoadJSON(file string, v any) error {
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// SaveJSON writes v to a simulator's ledger file whole (write, then rename), so
// a crash leaves the old or the new ledger, never half of one.
func SaveJSON(file string, v any) error {
	raw, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
