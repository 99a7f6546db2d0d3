package webhook

import (
	"encoding/json"

	"github.com/gitgate/gitgate/provenance"
)

// An Argo CD Application's operation in progress, part of judge's stage.
// The application controller resumes the operation an Application's
// status.operationState holds while its phase is not completed (Running,
// Terminating or none), in place of the one in operation
// (isOperationInProgress in Argo CD's controller/appcontroller.go), as
// soon as anything sets operation. An Application has no status
// subresource: whoever may update it writes that status, and a sync of
// inline manifests, another source or another revision written there is
// applied by the agent as surely as one written in operation. So that
// operation is judged as operation is (plainSync, gitOpsPart), though
// provenance.DecodeObject skips status.

// keepOperationState puts the status.operationState of an Argo CD
// Application's create or update, which provenance.DecodeObject skips,
// back into its objects, old and new. Applications are few and seldom
// written, so decoded apart from the hot path.
func keepOperationState(object, oldObject []byte, preq *provenance.Request) {
	if !isApplication(preq) || preq.Operation != provenance.Create && preq.Operation != provenance.Update {
		return
	}
	restoreOperationState(object, preq.Object)
	restoreOperationState(oldObject, preq.OldObject)
}

func isApplication(preq *provenance.Request) bool {
	return preq.Group == "argoproj.io" && preq.Kind == "Application"
}

// restoreOperationState sets obj's status.operationState from raw, the
// object's JSON, when it has one. An object that does not decode keeps
// none, and was refused by the decoder already.
func restoreOperationState(raw []byte, obj map[string]any) {
	var o struct {
		Status struct {
			OperationState map[string]any `json:"operationState"`
		} `json:"status"`
	}
	if obj == nil || json.Unmarshal(raw, &o) != nil || o.Status.OperationState == nil {
		return
	}
	obj["status"] = map[string]any{"operationState": o.Status.OperationState}
}

// pendingOperation is the operation an Application's status holds in
// progress (its phase not Succeeded, Failed or Error), or nil: the one the
// application controller runs next. In progress without an operation is
// an empty one.
func pendingOperation(app map[string]any) map[string]any {
	state, _ := at(app, []string{"status", "operationState"}).(map[string]any)
	if state == nil {
		return nil
	}
	switch phase, _ := state["phase"].(string); phase {
	case "Succeeded", "Failed", "Error":
		return nil
	}
	if op, _ := state["operation"].(map[string]any); op != nil {
		return op
	}
	return map[string]any{}
}
