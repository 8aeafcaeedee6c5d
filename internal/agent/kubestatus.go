package agent

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/agentapi"
)

// Reasons of the RouterNodeStatus conditions.
const (
	ReasonReconciled      = "Reconciled"
	ReasonResourcesFailed = "ResourcesFailed"
	ReasonReconcileFailed = "ReconcileFailed"
)

// StatusWriter writes the node's RouterNodeStatus (name = node) after every reconcile that
// changed what it says; a pass that changes nothing writes nothing, so thousands of agents
// resyncing every minute do not load the API server.
type StatusWriter struct {
	// Client writes directly (the agent does not watch RouterNodeStatuses).
	Client    client.Client
	Namespace string
	NodeName  string
	// Source describes the objects each report was built from.
	Source *KubeSource
	Log    *slog.Logger
	// Refresh is how long an unchanged status goes without being compared with the API
	// server's copy (which someone may have deleted or edited); default 5 minutes.
	Refresh time.Duration

	mu        sync.Mutex
	last      *v1alpha1.RouterNodeStatusStatus
	lastWrite time.Time
}

// Write is an Agent.AfterReconcile hook; failures are logged and retried on the next pass.
func (w *StatusWriter) Write(ctx context.Context, r agentapi.Report) {
	if err := w.write(ctx, r); err != nil {
		w.log().Error("write node status", "error", err)
	}
}

func (w *StatusWriter) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *StatusWriter) write(ctx context.Context, r agentapi.Report) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	snap := w.Source.Last()
	want := NodeStatus(r, snap)
	refresh := cmp.Or(w.Refresh, 5*time.Minute)
	if w.last != nil && sameStatus(*w.last, want) && time.Since(w.lastWrite) < refresh {
		return nil
	}
	cur := &v1alpha1.RouterNodeStatus{}
	key := client.ObjectKey{Namespace: w.Namespace, Name: w.NodeName}
	err := w.Client.Get(ctx, key, cur)
	if apierrors.IsNotFound(err) {
		cur = &v1alpha1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: w.NodeName}}
		if err := w.Client.Create(ctx, cur); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create routernodestatus %s: %w", w.NodeName, err)
		}
		if err := w.Client.Get(ctx, key, cur); err != nil {
			return fmt.Errorf("get routernodestatus %s: %w", w.NodeName, err)
		}
	} else if err != nil {
		return fmt.Errorf("get routernodestatus %s: %w", w.NodeName, err)
	}
	if sameStatus(cur.Status, want) {
		w.last, w.lastWrite = want.DeepCopy(), time.Now()
		return nil
	}
	before := cur.DeepCopy()
	// Keep the transition times of conditions whose status did not change.
	conds := cur.Status.Conditions
	for _, c := range want.Conditions {
		meta.SetStatusCondition(&conds, c)
	}
	want.Conditions = conds
	cur.Status = want
	if err := w.Client.Status().Patch(ctx, cur, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("patch routernodestatus %s: %w", w.NodeName, err)
	}
	w.last, w.lastWrite = want.DeepCopy(), time.Now()
	return nil
}

// sameStatus compares two statuses without the reconcile time and transition times.
func sameStatus(a, b v1alpha1.RouterNodeStatusStatus) bool {
	strip := func(s v1alpha1.RouterNodeStatusStatus) v1alpha1.RouterNodeStatusStatus {
		s = *s.DeepCopy()
		s.LastReconcileTime = nil
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		return s
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// NodeStatus turns a reconcile report into the RouterNodeStatus status. Every message passes
// through snap's redaction: an FRR error may quote a configuration line with a password.
func NodeStatus(r agentapi.Report, snap Snapshot) v1alpha1.RouterNodeStatusStatus {
	redact := snap.Redact
	var st v1alpha1.RouterNodeStatusStatus
	t := metav1.NewTime(r.Time)
	st.LastReconcileTime = &t

	for _, f := range r.Failed {
		st.FailedResources = append(st.FailedResources, v1alpha1.FailedResource{
			Kind: f.Kind, Name: f.Name, Field: f.Field, Reason: cmp.Or(f.Reason, "Failed"), Message: redact(f.Message),
		})
	}
	for _, a := range r.Applied {
		st.AppliedResources = append(st.AppliedResources, v1alpha1.AppliedResource{Kind: a.Kind, Name: a.Name, Generation: snap.Generations[a]})
		if vni, ok := snap.VNIs[a]; ok {
			st.AppliedVNIs = append(st.AppliedVNIs, vni)
		}
	}
	slices.Sort(st.AppliedVNIs)
	for _, s := range r.Sessions {
		vrf := s.VRF
		if vrf == "default" {
			vrf = ""
		}
		st.Sessions = append(st.Sessions, v1alpha1.SessionStatus{VRF: vrf, Neighbor: s.Neighbor, State: s.State})
	}

	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonReconciled,
		Message: fmt.Sprintf("%d resources applied", len(r.Applied))}
	degraded := metav1.Condition{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: ReasonReconciled,
		Message: "every selected resource is applied"}
	switch {
	case r.Error != "":
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ReasonReconcileFailed, redact(r.Error)
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionTrue, ReasonReconcileFailed, redact(r.Error)
	case len(r.Failed) > 0:
		names := make([]string, 0, len(r.Failed))
		for _, f := range r.Failed {
			names = append(names, f.Ref().String())
		}
		msg := fmt.Sprintf("%d resources applied, %d failed: %s", len(r.Applied), len(r.Failed), strings.Join(names, ", "))
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ReasonResourcesFailed, msg
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionTrue, ReasonResourcesFailed, msg
	}
	st.Conditions = []metav1.Condition{ready, degraded}
	return st
}
