package redisaddr_test

import (
	"fmt"

	"github.com/siorelay/siorelay/internal/redisaddr"
)

func ExampleParse() {
	for _, u := range []string{
		"redis://localhost:6379/2",
		"redis-sentinel://10.0.0.1,10.0.0.2:26380/mymaster",
		"redis-cluster://10.0.0.1:7000,10.0.0.2:7001?max_redirects=4",
	} {
		opts, err := redisaddr.Parse(u)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(redisaddr.ModeOf(opts), opts.Addrs, opts.MasterName, opts.DB)
	}
	_, err := redisaddr.Parse("http://localhost")
	fmt.Println(err)
	// Output:
	// standalone [localhost:6379]  2
	// sentinel [10.0.0.1:26379 10.0.0.2:26380] mymaster 0
	// cluster [10.0.0.1:7000 10.0.0.2:7001]  0
	// redisaddr: unknown scheme "http" (want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)
}

func ExampleRedacted() {
	fmt.Println(redisaddr.Redacted("redis://app:hunter2@cache:6379/0"))
	// Output: redis://app:xxxxx@cache:6379/0
}
