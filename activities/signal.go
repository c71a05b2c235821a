package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
)

// Signaler is the part of the Temporal client SignalWorkflow needs.
type Signaler interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg interface{},
		options client.StartWorkflowOptions, workflow interface{}, workflowArgs ...interface{}) (client.WorkflowRun, error)
}

// SignalRequest asks another entity's workflow to run: signalled if
// running, started otherwise.
type SignalRequest struct {
	WorkflowID   string `json:"workflow_id"`
	WorkflowType string `json:"workflow_type"`
	TaskQueue    string `json:"task_queue"`
	Signal       string `json:"signal"`
	Input        any    `json:"input"`
}

// SignalWorkflow exists so one workflow can wake another whether or not
// it is running (a workflow can only signal running workflows). Sending
// the same signal twice only makes the target check its state twice.
func (a *Activities) SignalWorkflow(ctx context.Context, req SignalRequest) error {
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, req.WorkflowID, req.Signal, nil,
		client.StartWorkflowOptions{ID: req.WorkflowID, TaskQueue: req.TaskQueue}, req.WorkflowType, req.Input)
	if err != nil {
		return fmt.Errorf("signal-with-start %s: %w", req.WorkflowID, err)
	}
	return nil
}
