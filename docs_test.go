package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docFiles are the Markdown files a reader follows links through.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	return append([]string{"README.md", "CONTRIBUTING.md"}, docs...)
}

// TestDocsPackaged checks that the README links each docs/*.md, and that the
// Debian package ships each beside the README (make install copies docs/*.md;
// TestSystemdUnit checks what it installed).
func TestDocsPackaged(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	nfpm, err := os.ReadFile("contrib/debian/nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docFiles(t)[2:] {
		if !strings.Contains(string(readme), "]("+doc+")") {
			t.Errorf("README.md does not link %s", doc)
		}
		entry := "- src: " + doc + "\n    dst: /usr/share/doc/muc-kick/" + doc + "\n"
		if !strings.Contains(string(nfpm), entry) {
			t.Errorf("contrib/debian/nfpm.yaml does not ship %s; add:\n  %s", doc, entry)
		}
	}
}
