package devserver

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// PortInUseError reports that a port the dev server needs is already taken by
// another process (often a second `aftersales dev` or a Temporal CLI dev server).
type PortInUseError struct {
	Port int    // the TCP port that could not be bound
	What string // what the port was meant for, e.g. "Temporal frontend" or "Temporal Web UI"
}

// Error returns a one-line message such as
// `port 7233 (Temporal frontend) is already in use`.
func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d (%s) is already in use", e.Port, e.What)
}

// CheckPortFree reports whether a TCP listener can be bound on ip:port right
// now. It returns nil when the port is free, a *PortInUseError when another
// listener holds it, and a plain error for other bind failures (for instance
// an IP address that is not on this machine, or a privileged port).
func CheckPortFree(ip string, port int, what string) error {
	var h portHold
	defer h.release()
	_, err := h.take(ip, port, what)
	return err
}

// IsAddrInUse reports whether err is a listen that failed because another socket
// holds the address (EADDRINUSE, or its Windows message).
func IsAddrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "address already in use") ||
		strings.Contains(msg, "Only one usage of each socket address")
}

// portHold keeps listeners open on the ports Start has checked or chosen, so
// that no other process can take them, until just before the code that
// listens on them for real (the Temporal server, the Web UI) needs them.
type portHold struct {
	listeners []net.Listener
}

// take listens on ip:port and returns the port; port 0 picks a free one. A
// port held by another listener gives a *PortInUseError.
func (h *portHold) take(ip string, port int, what string) (int, error) {
	ln, err := net.Listen("tcp", hostPort(ip, port))
	if err != nil {
		if port != 0 && IsAddrInUse(err) {
			return 0, &PortInUseError{Port: port, What: what}
		}
		return 0, fmt.Errorf("cannot listen on %s for %s: %w", hostPort(ip, port), what, err)
	}
	h.listeners = append(h.listeners, ln)
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// release closes the held listeners, freeing their ports. Later calls do nothing.
func (h *portHold) release() {
	for _, ln := range h.listeners {
		_ = ln.Close()
	}
	h.listeners = nil
}
