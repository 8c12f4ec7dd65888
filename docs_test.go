package main

import (
	"os"
	"path/filepath"
	"regexp"
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

var (
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	markdownHead = regexp.MustCompile(`(?m)^#+ (.+)$`)
)

// headingAnchor is the anchor GitHub gives a Markdown heading: lower case,
// spaces as hyphens, other punctuation dropped.
func headingAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinks checks every relative link of the README, CONTRIBUTING.md and
// docs/: the file it names exists, and so does the heading its #anchor names.
func TestDocsLinks(t *testing.T) {
	for _, doc := range docFiles(t) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markdownLink.FindAllSubmatch(text, -1) {
			target := string(m[1])
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			linked, err := os.ReadFile(path)
			if err != nil {
				if _, statErr := os.Stat(path); statErr != nil {
					t.Errorf("%s links to %s: %v", doc, target, statErr)
				}
				continue // a folder
			}
			if anchor == "" {
				continue
			}
			found := false
			for _, h := range markdownHead.FindAllSubmatch(linked, -1) {
				if headingAnchor(string(h[1])) == anchor {
					found = true
				}
			}
			if !found {
				t.Errorf("%s links to %s: %s has no heading with anchor #%s", doc, target, path, anchor)
			}
		}
	}
}

// TestDocsPackaged checks that the README links each docs/*.md, and that the
// Debian package ships each, and each figure of docs/img, beside the README
// (make install copies docs/*.md and docs/img; TestSystemdUnit checks what
// it installed).
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
	// The figures the docs show (make bench writes them).
	figures, err := filepath.Glob("docs/img/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, fig := range figures {
		entry := "- src: " + fig + "\n    dst: /usr/share/doc/muc-kick/" + fig + "\n"
		if !strings.Contains(string(nfpm), entry) {
			t.Errorf("contrib/debian/nfpm.yaml does not ship %s; add:\n  %s", fig, entry)
		}
	}
}

// TestHeadingAnchor pins the anchor rule TestDocsLinks relies on.
func TestHeadingAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"What occupants see: the room policy":          "what-occupants-see-the-room-policy",
		"Install with `make install`":                  "install-with-make-install",
		"Check the setup: `muc-kick check`":            "check-the-setup-muc-kick-check",
		"Sporadic kicks: what staying in a room saves": "sporadic-kicks-what-staying-in-a-room-saves",
	} {
		if got := headingAnchor(heading); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}
