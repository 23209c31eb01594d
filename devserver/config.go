package devserver

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/schema/sqlite"
)

const (
	clusterName = "active"
	storeName   = "sqlite-default"
)

// ports are the listen ports of one server run.
type ports struct {
	frontend, frontendHTTP, history, matching, worker int
}

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// sqlConfig is the persistence config shared by the default and visibility stores.
func sqlConfig(dbPath string) *config.SQL {
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbPath,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			// NORMAL: with WAL the database stays consistent after a crash of
			// the process; only the last commits can be lost on power failure.
			"synchronous":  "1",
			"busy_timeout": "10000",
		},
	}
}

// prepareStore creates the schema for a new database (recording the server
// version), refuses a database from another server version, and makes sure
// the namespace exists.
func prepareStore(opts Options, sqlCfg *config.SQL) error {
	dbPath := sqlCfg.DatabaseName
	_, err := os.Stat(dbPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			removeDB(dbPath)
			return fmt.Errorf("creating Temporal schema in %s: %w", dbPath, err)
		}
		if err := writeVersion(opts.DataDir); err != nil {
			removeDB(dbPath)
			return err
		}
	case err != nil:
		return fmt.Errorf("checking %s: %w", dbPath, err)
	default:
		if err := checkVersion(opts.DataDir); err != nil {
			return err
		}
	}

	nsCfg, err := sqlite.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", opts.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return fmt.Errorf("creating namespace %s: %w", opts.Namespace, err)
	}
	return nil
}

// removeDB deletes a database file that could not be initialised, so the
// next start creates it afresh instead of refusing it.
func removeDB(dbPath string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dbPath + suffix)
	}
}

// serverConfig builds the static config of a single-node server. The
// frontend listens on bindIP; the internal services listen on, and everything
// inside the server dials, ip (bindIP unless that is a wildcard address).
func serverConfig(bindIP, ip string, p ports, sqlCfg *config.SQL) *config.Config {
	frontend := hostPort(ip, p.frontend)
	service := func(bind string, grpcPort, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, HTTPPort: httpPort, BindOnIP: bind}}
	}
	var cfg config.Config
	cfg.Global.Membership = config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: ip}
	cfg.Persistence = config.Persistence{
		DefaultStore:     storeName,
		VisibilityStore:  storeName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{storeName: {SQL: sqlCfg}},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            hostPort(ip, p.frontendHTTP),
			},
		},
	}
	cfg.DCRedirectionPolicy = config.DCRedirectionPolicy{Policy: "noop"}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): service(bindIP, p.frontend, p.frontendHTTP),
		string(primitives.HistoryService):  service(ip, p.history, 0),
		string(primitives.MatchingService): service(ip, p.matching, 0),
		string(primitives.WorkerService):   service(ip, p.worker, 0),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = frontend
	return &cfg
}

// staticHosts pins every service to its own address, so no gossip ring is needed.
func staticHosts(ip string, p ports) map[primitives.ServiceName]static.Hosts {
	return map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(hostPort(ip, p.frontend)),
		primitives.HistoryService:  static.SingleLocalHost(hostPort(ip, p.history)),
		primitives.MatchingService: static.SingleLocalHost(hostPort(ip, p.matching)),
		primitives.WorkerService:   static.SingleLocalHost(hostPort(ip, p.worker)),
	}
}

// dynamicConfig holds the dev-server overrides. Values must be plain Go
// int, bool, float64 or string. CHASM needs no flag in v1.32 (on by default).
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Newly added search attributes are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// The Web UI issues many visibility calls; the default of 10/s throttles it.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// A dev machine does not need a 128k-entry mutable-state cache.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8192,
		// One node, a few pollers: with the default four partitions per task
		// queue a task can wait in a partition no poller is on until it is
		// forwarded, which is the tail of a ticket's create and actions. New tasks
		// go to one partition; all four are still read, so tasks a data dir kept
		// from before this setting are still polled (pollers on an empty
		// partition hand their poll to the root).
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
}
