// Command etcd runs go.etcd.io/etcd/server/v3 as a plain etcd binary, built
// from the Go module proxy so that the end-to-end tests need no download site.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
