package local

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFuzzScriptListsEveryTarget keeps deploy/local/fuzz.sh and the code
// in step: every FuzzXxx in the tree is fuzzed by make test and make
// test-soak, each listed target exists, and each has a committed seed
// corpus (testdata/fuzz/FuzzXxx, run by go test as regular tests).
func TestFuzzScriptListsEveryTarget(t *testing.T) {
	r := root(t)
	script, err := os.ReadFile(filepath.Join(r, "deploy/local/fuzz.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^\s*"\./(\S+) (Fuzz\w+)"$`).FindAllStringSubmatch(string(script), -1) {
		listed = append(listed, m[1]+" "+m[2])
	}
	if len(listed) == 0 {
		t.Fatal("fuzz.sh lists no targets")
	}

	var found []string
	decl := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	err = filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".dev" || d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg, _ := filepath.Rel(r, filepath.Dir(path))
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			found = append(found, filepath.ToSlash(pkg)+" "+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(found)
	if !slices.Equal(listed, found) {
		t.Fatalf("fuzz.sh lists\n  %v\nthe tree has\n  %v", listed, found)
	}
	for _, target := range found {
		pkg, name, _ := strings.Cut(target, " ")
		seeds, err := os.ReadDir(filepath.Join(r, pkg, "testdata/fuzz", name))
		if err != nil || len(seeds) == 0 {
			t.Errorf("%s has no seed corpus in %s/testdata/fuzz/%s (%v)", name, pkg, name, err)
		}
	}
}
