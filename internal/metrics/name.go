package metrics

import (
	"reflect"
	"runtime"
	"strings"
)

// workflowName is the registered name Temporal derives from a workflow
// function: its last path element, without the package.
func workflowName(wf any) string {
	v := reflect.ValueOf(wf)
	if v.Kind() != reflect.Func {
		return "unknown"
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(name, "-fm")
}
