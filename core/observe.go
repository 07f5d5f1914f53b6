package core

import (
	"errors"
	"log/slog"
	"net/http"
)

// observer reports outcomes to the app: a structured log and two hooks.
// The library prints nothing on its own; all of them are optional.
type observer struct {
	logger    *slog.Logger
	onReject  func(r *http.Request, err error)
	onSuccess func(r *http.Request, res *Result)
}

func (o *observer) empty() bool {
	return o.logger == nil && o.onReject == nil && o.onSuccess == nil
}

// WithLogger logs each rejection (at Warn, or Error for a configuration
// fault) and each success (at Debug) to l, with stable keys: reason,
// status, detail, method, path, message_id, region, and want_url and
// got_url on a URL mismatch. Keys, tokens and bodies are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.observer.logger = l }
}

// WithRejectHook calls f for each rejected request, after logging, with the
// full error (errors.Is tells which check failed). f must not write a
// response: the middleware does.
func WithRejectHook(f func(r *http.Request, err error)) Option {
	return func(c *config) { c.observer.onReject = f }
}

// WithSuccessHook calls f for each request that passes, before the handler.
func WithSuccessHook(f func(r *http.Request, res *Result)) Option {
	return func(c *config) { c.observer.onSuccess = f }
}

// URLMismatchError is the detail of ErrURLMismatch: the URL the request
// arrived at and the one QStash signed.
type URLMismatchError struct {
	Want string // the URL of the request, as the verifier sees it
	Got  string // the URL in the signature's sub claim
}

func (e *URLMismatchError) Error() string {
	return "url mismatch: signed for " + e.Got + ", request is for " + e.Want +
		firstDifference(e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrURLMismatch) hold.
func (e *URLMismatchError) Unwrap() error { return ErrURLMismatch }

func (o *observer) rejected(r *http.Request, err error) {
	if o.logger != nil {
		status := StatusCode(err)
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("reason", Reason(err)),
			slog.Int("status", status),
			slog.String("detail", err.Error()),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("message_id", headerValue(r.Header, HeaderMessageID)),
			slog.String("region", headerValue(r.Header, HeaderRegion)),
		}
		var mismatch *URLMismatchError
		if errors.As(err, &mismatch) {
			attrs = append(attrs, slog.String("want_url", mismatch.Want),
				slog.String("got_url", mismatch.Got))
		}
		o.logger.LogAttrs(r.Context(), level, "qstashguard: request rejected", attrs...)
	}
	if o.onReject != nil {
		o.onReject(r, err)
	}
}

// failedOpen reports a request let through unchecked for replay because the
// store failed and the app chose availability.
func (o *observer) failedOpen(r *http.Request, err error) {
	if o.logger != nil {
		o.logger.LogAttrs(r.Context(), slog.LevelError,
			"qstashguard: replay store unavailable, request let through",
			slog.String("reason", Reason(err)),
			slog.String("detail", err.Error()),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("message_id", headerValue(r.Header, HeaderMessageID)))
	}
}

func (o *observer) accepted(r *http.Request, res *Result) {
	if o.logger != nil && o.logger.Enabled(r.Context(), slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("message_id", res.Delivery.MessageID),
			slog.String("region", res.Delivery.Region),
		}
		if res.Claims != nil {
			attrs = append(attrs, slog.String("key", res.Claims.Key.String()))
		}
		o.logger.LogAttrs(r.Context(), slog.LevelDebug, "qstashguard: request verified",
			attrs...)
	}
	if o.onSuccess != nil {
		o.onSuccess(r, res)
	}
}
