package devserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
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
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		if isAddrInUse(err) {
			return &PortInUseError{Port: port, What: what}
		}
		return fmt.Errorf("cannot listen on %s for %s: %w", net.JoinHostPort(ip, strconv.Itoa(port)), what, err)
	}
	return ln.Close()
}

func isAddrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "address already in use") ||
		strings.Contains(msg, "Only one usage of each socket address")
}

// freePorts returns n distinct TCP ports that were free on ip a moment ago.
// All listeners are held open until every port is chosen, so the ports are
// distinct from each other.
func freePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("picking a free port on %s: %w", ip, err)
		}
		listeners = append(listeners, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
