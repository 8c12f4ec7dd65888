package main

import (
	"crypto/tls"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
)

// certReloader serves a certificate that SIGHUP reads again from its files.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	return r, r.load()
}

func (r *certReloader) load() error {
	if err := config.CheckPrivate("http.tls_key", r.keyFile); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert.Store(&cert)
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.cert.Load(), nil }

// reloadOnSIGHUP, at every SIGHUP until the returned function is called,
// reloads the certificate (unless certs is nil: no TLS) and reads the
// configuration file again for what api can change while it runs: the named
// clients, http.revoked, the credential rate and the credential keys (keys,
// those in use). It logs what changed. A failed reload, such as a key file
// that is missing or too short, keeps everything in use and says why.
func reloadOnSIGHUP(log *slog.Logger, certs *certReloader, cfgPath string, api *httpapi.Handler, keys [][]byte) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				keys = reload(log, certs, cfgPath, api, keys)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// reload is one SIGHUP; it returns the credential keys in use after it.
func reload(log *slog.Logger, certs *certReloader, cfgPath string, api *httpapi.Handler, keys [][]byte) [][]byte {
	if certs != nil {
		if err := certs.load(); err != nil {
			log.Error("SIGHUP: cannot reload the TLS certificate; keeping the one in use", "err", err)
		} else {
			log.Info("SIGHUP: TLS certificate reloaded", "cert", certs.certFile)
		}
	}
	if cfgPath == "" || api == nil {
		return keys
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		log.Error("SIGHUP: cannot read the configuration; keeping the clients, revocations and credential keys in use", "err", err)
		return keys
	}
	changes := api.Update(app.Auth(cfg))
	changes = append(changes, app.KeyChanges(keys, cfg.HTTP.CredentialKeys)...)
	if len(changes) == 0 {
		changes = []string{"nothing"}
	}
	log.Info("SIGHUP: clients, revocations and credential keys reloaded; other settings need a restart", "changed", strings.Join(changes, "; "))
	return cfg.HTTP.CredentialKeys
}
