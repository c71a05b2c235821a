package doctor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// ServiceAttributes copies activities.customAttributes, which is not
// exported. This reads the list out of activities' source, so a change
// there that is not made here fails. (When activities exports the list,
// doctor should use it and this test can go.)
func TestServiceAttributesMatchActivities(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../activities/attributes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []Attribute
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "customAttributes" || len(vs.Values) != 1 {
			return true
		}
		found = true
		byModel, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			t.Fatal("customAttributes is not a composite literal")
		}
		for _, e := range byModel.Elts {
			kv := e.(*ast.KeyValueExpr)
			model := unquote(t, kv.Key)
			for _, spec := range kv.Value.(*ast.CompositeLit).Elts {
				a := Attribute{Model: model}
				for _, field := range spec.(*ast.CompositeLit).Elts {
					fkv := field.(*ast.KeyValueExpr)
					switch fkv.Key.(*ast.Ident).Name {
					case "Name":
						a.Name = unquote(t, fkv.Value)
					case "DataType":
						a.DataType = unquote(t, fkv.Value)
					}
				}
				got = append(got, a)
			}
		}
		return false
	})
	if !found {
		t.Fatal("activities/attributes.go has no customAttributes: use the list activities exports now")
	}
	key := func(a Attribute) string { return a.Model + "." + a.Name + ":" + a.DataType }
	var have, want []string
	for _, a := range got {
		want = append(want, key(a))
	}
	for _, a := range ServiceAttributes {
		have = append(have, key(a))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("ServiceAttributes = %v\nactivities writes  %v", have, want)
	}
}

func unquote(t *testing.T, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("not a string literal: %#v", e)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
