package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The limits on the product's code: a file a reader takes in at once, a
// function that fits on a screen. Tests are exempt.
const (
	maxProductFileLines = 400
	maxProductFuncLines = 60
)

// productRoots are the folders that hold the product's code, beside main.go.
var productRoots = []string{"component", "httpapi", "muc", "internal"}

// testHarnesses are the folders under productRoots that hold test code only
// (fakes, real-server harnesses, test plumbing): they never ship.
var testHarnesses = []string{"internal/harness"}

// productFiles lists the daemon's own files (the root's non-test .go
// files: main.go and the files it is split into) and every non-test .go
// file under productRoots, except testdata and the test harnesses.
func productFiles(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := slices.DeleteFunc(root, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	for _, root := range productRoots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || slices.Contains(testHarnesses, filepath.ToSlash(path)) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, filepath.ToSlash(path))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// lineCount counts the lines of src as wc -l does, plus a last line
// without its newline.
func lineCount(src []byte) int {
	n := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return n
}

// TestProductFileAndFunctionLengths keeps the product readable: no file of
// the product (main.go and the non-test code of component, httpapi, muc and
// internal/, the test harnesses aside) over maxProductFileLines lines, and no
// function or method over maxProductFuncLines lines, from func to its
// closing brace. It lists every offender with its length.
func TestProductFileAndFunctionLengths(t *testing.T) {
	files := productFiles(t)
	// The walk must have found the product, or the test proves nothing.
	for _, want := range []string{"main.go", "component/", "httpapi/", "muc/", "internal/config/"} {
		if !slices.ContainsFunc(files, func(f string) bool { return f == want || strings.HasPrefix(f, want) }) {
			t.Fatalf("no product file %s* found among %v", want, files)
		}
	}
	var offenders []string
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := lineCount(src); n > maxProductFileLines {
			offenders = append(offenders, fmt.Sprintf("file %s: %d lines (limit %d)", path, n, maxProductFileLines))
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			if n := end.Line - start.Line + 1; n > maxProductFuncLines {
				offenders = append(offenders, fmt.Sprintf("func %s (%s:%d): %d lines (limit %d)", funcName(fn), path, start.Line, n, maxProductFuncLines))
			}
		}
	}
	for _, o := range offenders {
		t.Error(o)
	}
}

// funcName is fn's name as a reader looks for it: Recv.Name for a method.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	for {
		switch x := typ.(type) {
		case *ast.StarExpr:
			typ = x.X
			continue
		case *ast.IndexExpr:
			typ = x.X
			continue
		case *ast.IndexListExpr:
			typ = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fn.Name.Name
		}
		return fn.Name.Name
	}
}

// TestLineCount pins the counting rule the length test relies on.
func TestLineCount(t *testing.T) {
	for src, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\n\nb\n": 3} {
		if got := lineCount([]byte(src)); got != want {
			t.Errorf("lineCount(%q) = %d, want %d", src, got, want)
		}
	}
}
