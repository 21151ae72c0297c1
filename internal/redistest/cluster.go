package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of redis-server processes owned by a test.
type Cluster struct {
	Addrs []string
	// URL names every node, in the form --redis takes with --redis-cluster.
	URL   string
	nodes []*exec.Cmd
	dir   string
}

// StartCluster runs a Redis Cluster of n masters (no replicas) on free loopback ports, with
// persistence off, and waits until it serves every slot. It needs redis-cli (Debian's
// redis-tools, a dependency of redis-server).
func StartCluster(n int) (*Cluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not installed (apt-get install redis-server): %w", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli not installed (apt-get install redis-tools): %w", err)
	}
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	for i := 0; i < n; i++ {
		port, err := clusterPort()
		if err != nil {
			c.Stop()
			return nil, err
		}
		p := strconv.Itoa(port)
		cmd := exec.Command(bin, "--port", p, "--bind", "127.0.0.1", "--dir", dir, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+p+".conf", "--cluster-node-timeout", "5000", "--save", "",
			"--appendonly", "no", "--logfile", filepath.Join(dir, "redis-"+p+".log"))
		if err := cmd.Start(); err != nil {
			c.Stop()
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		c.nodes = append(c.nodes, cmd)
		c.Addrs = append(c.Addrs, "127.0.0.1:"+p)
	}
	for _, a := range c.Addrs {
		if err := waitPing(a); err != nil {
			c.Stop()
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	c.URL = "redis://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
	if err := c.waitReady(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// waitReady waits until every node reports cluster_state:ok.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range c.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: a})
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				return fmt.Errorf("cluster node %s not ready: %v %q", a, err, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		rdb.Close()
	}
	return nil
}

// Client returns a cluster client, closed by the caller.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
}

// Stop kills the nodes and removes their directory.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		if n.Process != nil {
			_ = n.Process.Kill()
			_ = n.Wait()
		}
	}
	os.RemoveAll(c.dir)
}

// clusterPort finds a free port whose cluster bus port (port + 10000) is free too.
func clusterPort() (int, error) {
	for i := 0; i < 50; i++ {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if port+10000 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port pair for a cluster node")
}

func waitPing(addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
