package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/aftersales/aftersales/activities/courier"
	"github.com/aftersales/aftersales/activities/payment"
	"github.com/aftersales/aftersales/api"
	"github.com/aftersales/aftersales/bench"
	"github.com/aftersales/aftersales/models"
)

// runBench drives full ticket lifecycles over the HTTP API and the floor workflow
// the same way, on an embedded stack it starts in a temporary data dir (or
// against --target), and reports throughput, latency, cost per ticket and
// correctness (bench.Report).
func runBench(ctx context.Context, args []string) error { return benchTo(ctx, args, os.Stdout) }

func benchTo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	n := fs.Int("tickets", 200, "full lifecycles to drive")
	conc := fs.Int("concurrency", 16, "lifecycles in flight")
	mix := fs.String("mix", "pickup_return_refund", "the path every ticket takes (pickup_return_refund)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object on the last line")
	target := fs.String("target", "", "drive a running stack at this base URL instead of starting one (no floor; the provider ledger with --providers-url, the cost with --cost)")
	cost := fs.Bool("cost", false, "with --target: count the cost per ticket from the tickets' histories, read from the Temporal cluster of --temporal-address and --temporal-namespace")
	var tf temporalFlags
	tf.register(fs)
	keysFile := fs.String("keys", "", "with --target: its keys file (a seller of shop-1 and a buyer)")
	providersURL := fs.String("providers-url", "", "with --target: the payment provider API of `aftersales providers` (http://host:8090/payment), whose own ledger counts duplicate refunds")
	paymentKey := fs.String("payment-key", "", "with --providers-url: its API key")
	simDelay := fs.Duration("sim-delay", 10*time.Millisecond, "how soon the simulated providers answer")
	latency := fs.Duration("provider-latency", 0, "how long each call to a simulated provider (book a pickup, pay a refund) takes before it answers")
	timeout := fs.Duration("ticket-timeout", 2*time.Minute, "a ticket not at its end by then counts as lost")
	open := fs.Int("open", 0, "instead of lifecycles: open this many tickets waiting on staggered review_by deadlines and report how late they fire")
	openDeadline := fs.Duration("open-deadline", time.Minute, "with --open: review_timeout, how long after its creation each ticket's deadline falls")
	openWait := fs.Duration("open-wait", 10*time.Minute, "with --open: how long after the last deadline a deadline may still fire before it counts as not fired")
	chaos := fs.Bool("chaos", false, "kill and restart the worker at random moments (every 0.5 to 2 s) while the tickets run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole process (server, worker, API, driver) to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *latency < 0 || *latency > time.Minute {
		return fmt.Errorf("--provider-latency %s: give a duration from 0 to 1m", *latency)
	}
	if *n < 1 || *conc < 1 {
		return fmt.Errorf("--tickets and --concurrency must be at least 1")
	}
	if *mix != "pickup_return_refund" {
		return fmt.Errorf("--mix %q: the one path measured today is pickup_return_refund", *mix)
	}
	cfg := bench.Config{Tickets: *n, Concurrency: *conc, RunID: strconv.FormatInt(time.Now().UnixNano(), 36),
		Timeout: *timeout, Poll: 25 * time.Millisecond}
	var (
		report bench.Report
		hist   bench.Histories
		pay    bench.Payments
	)
	if *target != "" {
		if *chaos {
			return fmt.Errorf("--chaos restarts the worker of the stack it starts: leave out --target")
		}
		if *latency > 0 {
			return fmt.Errorf("--provider-latency slows the simulated providers of the stack it starts: leave out --target")
		}
		keys, err := readKeys(*keysFile)
		if err != nil {
			return err
		}
		cfg.API, cfg.Parties = *target, parties(keys)
		if *providersURL != "" {
			p := providerPayments{base: strings.TrimRight(*providersURL, "/"), key: *paymentKey}
			if _, err := p.records(ctx, ""); err != nil {
				return fmt.Errorf("--providers-url %s: %w", *providersURL, err)
			}
			pay = p
		}
		if *cost {
			tc, err := dialTemporal(tf, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			if err != nil {
				return fmt.Errorf("--cost: %w", err)
			}
			defer tc.Close()
			hist = temporalHistories{tc}
		}
		report = bench.Run(ctx, cfg, false, hist, pay)
	} else {
		dir, err := os.MkdirTemp("", "aftersales-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		var d devFlags
		d.dataDir, d.http, d.quiet = dir, "127.0.0.1:0", true
		if *open > 0 {
			// Fast review off, so each ticket waits on review_by.
			d.policyFile = dir + "/open-policy.yaml"
			policy := fmt.Sprintf("version: bench-open\nreview_timeout: %s\nfast_review: {enabled: false}\n", *openDeadline)
			if err := os.WriteFile(d.policyFile, []byte(policy), 0o600); err != nil {
				return err
			}
		}
		d.providers.courier, d.providers.payment, d.providers.sim, d.providers.simDelay = "sim", "sim", courier.ModeAuto, *simDelay
		d.providers.faults.latency = *latency
		d.api.rateLimit, d.api.rateBurst = 1e6, 1e6 // the bench is one principal sending for many
		var stopFloor func()
		d.extend = func(e *echo.Echo, tc client.Client) error {
			w, err := bench.RegisterFloor(tc)
			if err != nil {
				return fmt.Errorf("floor worker: %w", err)
			}
			bench.FloorRoutes(e, tc)
			stopFloor = w.Stop
			return nil
		}
		rt, err := startDev(ctx, d)
		if err != nil {
			return err
		}
		defer rt.Stop()
		defer func() {
			if stopFloor != nil {
				stopFloor()
			}
		}()
		cfg.API, cfg.Parties = rt.apiURL, parties(rt.keys)
		if *chaos {
			cfg.Restart = rt.RestartWorker
		}
		hist = temporalHistories{rt.temporal}
		if sim, ok := d.providers.simPayments.(*payment.Simulator); ok {
			pay = simPayments{sim}
		}
		if *open > 0 {
			r := bench.Open(ctx, cfg, *open, *openDeadline, *openWait)
			if *asJSON {
				raw, _ := json.Marshal(r)
				fmt.Fprintln(out, string(raw))
				return nil
			}
			fmt.Fprintf(out, "aftersales bench --open %d: deadlines %s after creation, opened in %.1f s\n", r.Open, r.Deadline, r.CreateSeconds)
			fmt.Fprintf(out, "  fired %d, not fired %d; lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", r.Fired, r.Unfired, r.LatenessP50Ms, r.LatenessP99Ms, r.LatenessMaxMs)
			fmt.Fprintf(out, "  memory per open ticket %.1f KB; peak RSS %.0f MB\n", r.RSSPerOpenKB, r.PeakRSSMB)
			for _, e := range r.Errors {
				fmt.Fprintf(out, "  error: %s\n", e)
			}
			return nil
		}
		report = bench.Run(ctx, cfg, true, hist, pay)
		report.ProviderLatencyMs = float64(*latency) / float64(time.Millisecond)
	}
	if *asJSON {
		raw, _ := json.Marshal(report)
		fmt.Fprintln(out, string(raw))
		return nil
	}
	printReport(out, report)
	return nil
}

func readKeys(path string) ([]api.Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	var keys []api.Key
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, fmt.Errorf("--keys %s: %w", path, err)
	}
	return keys, nil
}

func parties(keys []api.Key) bench.Parties {
	var p bench.Parties
	for _, k := range keys {
		switch k.Role {
		case models.RoleSeller:
			p.Seller, p.ShopID = k.Key, k.Subject
		case models.RoleBuyer:
			p.Buyer, p.BuyerID = k.Key, k.Subject
		}
	}
	return p
}

// temporalHistories reads histories from the Temporal server: the embedded
// one, or a cluster's (--target --cost).
type temporalHistories struct{ c client.Client }

func (h temporalHistories) History(ctx context.Context, id string) (*historypb.History, error) {
	it := h.c.GetWorkflowHistory(ctx, id, "", false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		hist.Events = append(hist.Events, e)
	}
	return hist, nil
}

// providerPayments counts a ticket's successful refunds in the ledger of the
// payment provider that `aftersales providers` serves (GET /payments?ticket_id=).
type providerPayments struct{ base, key string }

func (p providerPayments) records(ctx context.Context, ticketID string) ([]payment.Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/payments?ticket_id="+url.QueryEscape(ticketID), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the provider's ledger answered %s", res.Status)
	}
	var body struct{ Refunds []payment.Record }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("the provider's ledger: %w", err)
	}
	return body.Refunds, nil
}

// PaidRefunds counts from the provider's ledger; a ledger that cannot be read
// counts as -1 refunds (never a duplicate), and the run's preflight read it once.
func (p providerPayments) PaidRefunds(ticketID string) (n int, cents int64) {
	recs, err := p.records(context.Background(), ticketID)
	if err != nil {
		return -1, 0
	}
	return paidRefunds(recs)
}

// paidRefunds counts the successful refunds among a ticket's provider records.
func paidRefunds(recs []payment.Record) (n int, cents int64) {
	for _, r := range recs {
		if r.Purpose == models.PurposeRefund && r.Status == models.RefundSucceeded {
			n++
			cents += r.AmountCents
		}
	}
	return n, cents
}

// simPayments counts the simulated provider's successful refunds of a ticket.
type simPayments struct{ s *payment.Simulator }

func (p simPayments) PaidRefunds(ticketID string) (n int, cents int64) {
	return paidRefunds(p.s.Ledger(ticketID))
}

func printReport(out io.Writer, r bench.Report) {
	fmt.Fprintf(out, "aftersales bench: %d × %s at concurrency %d, providers answering in %.0f ms\n", r.Tickets, r.Path, r.Concurrency, r.ProviderLatencyMs)
	fmt.Fprintf(out, "  tickets/s        %8.2f   floor %8.2f   ratio %.2f\n", r.TicketsPerSec, r.FloorTicketsPerSec, r.RatioToFloor)
	fmt.Fprintf(out, "  per ticket       %8.1f actions, %.1f events, %.1f workflow tasks   floor %.1f actions, %.1f events, %.1f workflow tasks\n",
		r.ActionsPerTicket, r.EventsPerTicket, r.WorkflowTasksPerTicket, r.FloorActionsPerTicket, r.FloorEventsPerTicket, r.FloorWorkflowTasksPerTicket)
	fmt.Fprintf(out, "  actions by kind  %v\n", r.ActionsByKind)
	fmt.Fprintf(out, "  create ms        p50 %7.1f  p95 %7.1f  p99 %7.1f\n", r.CreateP50Ms, r.CreateP95Ms, r.CreateP99Ms)
	fmt.Fprintf(out, "  action ms        p50 %7.1f  p95 %7.1f  p99 %7.1f   floor update p99 %.1f (ratio %.2f)\n",
		r.ActionP50Ms, r.ActionP95Ms, r.ActionP99Ms, r.FloorUpdateP99Ms, r.UpdateP99Ratio)
	fmt.Fprintf(out, "  GET ms           p50 %7.1f  p95 %7.1f  p99 %7.1f\n", r.GetP50Ms, r.GetP95Ms, r.GetP99Ms)
	fmt.Fprintf(out, "  lost %d, duplicate refunds %d, worker restarts %d, peak RSS %.0f MB\n", r.Lost, r.DuplicateRefunds, r.Restarts, r.PeakRSSMB)
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  error: %s\n", e)
	}
}
