package dashboard_test

import (
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/watcher/feed"
)

// TestOperatorShowsWatcherStatus: the operator view shows what the active watcher last
// published of a network (chain head, blocks behind it, when it was read, endpoint health
// and the primary's label), in either language, and "not reporting" for a network whose
// watcher wrote no record (or whose record expired).
func TestOperatorShowsWatcherStatus(t *testing.T) {
	e := newFullEdge(t)
	e.user(nil, "root@ops.example", "operators see it all")
	co := e.login("root@ops.example", "operators see it all", "")

	f := e.feed(checkout.ERC20)
	if ok, err := f.Acquire(e.ctx, time.Minute); err != nil || !ok {
		t.Fatalf("lease %v %v", ok, err)
	}
	if err := f.Commit(e.ctx, &feed.Step{Checkpoint: 4_990}); err != nil {
		t.Fatal(err)
	}
	// Read two hours ago (and kept a minute): the page says "2 h" whatever the test's pace.
	err := f.WriteStatus(e.ctx, &feed.Status{Head: 5_002, At: time.Now().Add(-2 * time.Hour), Checkpoint: 4_990,
		EndpointsHealthy: 2, EndpointsTotal: 3, Primary: "#1 https://eth.example"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/dashboard/operator", nil, co, nil)
	if r.status != 200 {
		t.Fatalf("operator view: %d\n%s", r.status, r.body)
	}
	checkHeaders2(t, r) // the primary's label is scheme://host: text, not a link
	if strings.Contains(r.body, `href="https://eth.example`) {
		t.Error("the primary endpoint is a link")
	}
	mustContain(t, "operator view", r.body,
		`<th scope="row">ERC20</th><td>2 h ago</td><td>2 of 3 healthy, reading from #1 https://eth.example</td><td class="num">5002</td><td class="num">12</td>`,
		`<th scope="row">TRC20</th><td>not reporting</td><td>—</td><td class="num">—</td><td class="num">—</td>`)

	r = e.do("GET", "/dashboard/operator?lang=zh", nil, co, nil)
	mustContain(t, "operator view (zh)", r.body,
		`<th scope="row">ERC20</th><td>2 小时前</td><td>3 个中 2 个正常，当前读取 #1 https://eth.example</td><td class="num">5002</td><td class="num">12</td>`,
		`<th scope="row">TRC20</th><td>未上报</td>`)
}
