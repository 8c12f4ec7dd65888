package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheckCmd is `muc-kick healthcheck`: it asks a running muc-kick's
// /healthz and exits 0 when the answer is 200, 1 otherwise. It is the
// container image's health check, which has no shell and no curl to run.
// An https URL's certificate is not verified: the probe sends nothing
// secret and reads only the status, usually from loopback, where the
// certificate's name does not match.
func healthcheckCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muc-kick healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:5280/healthz", "the `URL` of muc-kick's /healthz")
	timeout := fs.Duration("timeout", 3*time.Second, "how long the answer may take")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	client := &http.Client{
		Timeout:   *timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick healthcheck:", err)
		return exitFailure
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "muc-kick healthcheck: %s answered %s\n", *url, resp.Status)
		return exitFailure
	}
	fmt.Fprintf(stdout, "muc-kick healthcheck: %s answered %s\n", *url, resp.Status)
	return exitOK
}
