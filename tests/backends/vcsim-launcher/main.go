// Command vcsim starts the govmomi vCenter simulator for homeport's tests.
//
// Debian's golang-github-vmware-govmomi-dev ships the simulator library but not
// vcsim's main package, so the project keeps this small launcher. It prints one
// line "VCSIM_URL=<url>" on stdout once the server listens, and stops on SIGTERM.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	// The REST (vAPI) and storage-policy (PBM) endpoints: Terraform's vSphere provider needs them.
	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (host:port)")
	username := flag.String("username", "", "login user name (empty: any login works)")
	password := flag.String("password", "", "login password")
	certFile := flag.String("tlscert", "", "PEM certificate file (empty: built-in test certificate)")
	keyFile := flag.String("tlskey", "", "PEM key file for -tlscert")
	dc := flag.Int("dc", 1, "number of datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	ds := flag.Int("ds", 1, "datastores")
	vm := flag.Int("vm", 2, "VMs per resource pool")
	pg := flag.Int("pg", 1, "distributed port groups per datacenter")
	autostart := flag.Bool("autostart", true, "power on the model's VMs")
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host instead of vCenter")
	methodDelay := flag.String("method-delay", "", "delay SOAP methods: Name=ms[,Name=ms...] (fault tests)")
	flag.Parse()

	if *listen == "" || (*username == "") != (*password == "") {
		fmt.Fprintln(os.Stderr, "vcsim: -l is required, and -username and -password go together")
		os.Exit(2)
	}

	model := simulator.VPX()
	model.Datacenter = *dc
	model.Cluster = *cluster
	model.ClusterHost = *host
	model.Host = *standalone
	model.Portgroup = *pg
	if *esx {
		model = simulator.ESX()
	}
	model.Datastore = *ds
	model.Machine = *vm
	model.Autostart = *autostart

	if *methodDelay != "" {
		model.DelayConfig.MethodDelay = map[string]int{}
		for _, item := range strings.Split(*methodDelay, ",") {
			parts := strings.SplitN(item, "=", 2)
			ms, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
			if len(parts) != 2 || err != nil {
				fmt.Fprintf(os.Stderr, "vcsim: -method-delay wants Name=ms, not %q\n", item)
				os.Exit(2)
			}
			model.DelayConfig.MethodDelay[strings.TrimSpace(parts[0])] = ms
		}
	}

	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}
	defer model.Remove()

	u := &url.URL{Host: *listen}
	if *username != "" {
		u.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = u
	model.Service.RegisterEndpoints = true
	model.Service.TLS = new(tls.Config)
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatalf("vcsim: load TLS key pair: %v", err)
		}
		model.Service.TLS.Certificates = []tls.Certificate{cert}
	}

	server := model.Service.NewServer()
	defer server.Close()

	shown := *server.URL
	shown.User = nil
	fmt.Printf("VCSIM_URL=%s\n", shown.String())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
