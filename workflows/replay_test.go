package workflows_test

import (
	"path/filepath"
	"testing"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/intercom-sync/intercom-sync/worker"
)

// Every recorded history (testdata/replay/<recording>/, produced by the end-to-end test
// internal/e2e TestRecordedHistoriesReplay) must replay with the current
// workflow code: a change that would break running workflows fails here.
func TestReplayRecordedHistories(t *testing.T) {
	// One folder per recording: histories of older workflow versions stay,
	// so running workflows of every released version keep replaying.
	files, err := filepath.Glob("testdata/replay/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/replay")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			replayer := sdkworker.NewWorkflowReplayer()
			worker.RegisterWorkflows(replayer)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
