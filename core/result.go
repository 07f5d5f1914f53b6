package core

import (
	"context"
	"net/http"
	"strconv"
)

// Headers QStash and Upstash Workflow add to each delivery. None of them is
// covered by the signature, which signs only the URL and the body: treat
// them as hints about the delivery, not as authenticated facts.
const (
	HeaderMessageID     = "Upstash-Message-Id"
	HeaderRetried       = "Upstash-Retried"
	HeaderScheduleID    = "Upstash-Schedule-Id"
	HeaderCallerIP      = "Upstash-Caller-Ip"
	HeaderWorkflowRunID = "Upstash-Workflow-Runid"
)

// Result is what a verified request carries to its handler.
type Result struct {
	// Claims are the verified signature claims; nil when the guard checks
	// no signature.
	Claims *Claims
	// Principal is what the bearer validator returned; nil without one.
	Principal any
	// Failure is the decoded payload of a failure callback; nil for a
	// workflow step or a plain QStash message.
	Failure *FailurePayload
	// Delivery describes the delivery, from QStash's headers.
	Delivery Delivery
}

// Delivery is the metadata QStash sends beside a message. It comes from
// headers the signature does not cover.
type Delivery struct {
	MessageID       string // Upstash-Message-Id
	Retried         int    // Upstash-Retried: 0 on the first attempt
	WorkflowRunID   string // Upstash-Workflow-RunId
	Region          string // Upstash-Region
	ScheduleID      string // Upstash-Schedule-Id
	CallerIP        string // Upstash-Caller-Ip
	FailureCallback bool   // whether the request is a failure callback
}

func deliveryOf(h http.Header) Delivery {
	var retried int
	if v := headerValue(h, HeaderRetried); v != "" {
		retried, _ = strconv.Atoi(v)
	}
	return Delivery{
		MessageID:       headerValue(h, HeaderMessageID),
		Retried:         retried,
		WorkflowRunID:   headerValue(h, HeaderWorkflowRunID),
		Region:          headerValue(h, HeaderRegion),
		ScheduleID:      headerValue(h, HeaderScheduleID),
		CallerIP:        headerValue(h, HeaderCallerIP),
		FailureCallback: IsFailureCallback(h),
	}
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries res, for handlers that read
// the result from the request's context.
func NewContext(ctx context.Context, res *Result) context.Context {
	return context.WithValue(ctx, contextKey{}, res)
}

// FromContext returns the Result stored in ctx by NewContext.
func FromContext(ctx context.Context) (*Result, bool) {
	res, ok := ctx.Value(contextKey{}).(*Result)
	return res, ok
}
