package core

import (
	"errors"
	"fmt"
	"net/http"
)

// A Guard protects one route of an Upstash Workflow app. It combines the
// two ways of authenticating a call: QStash signature verification (on
// unless WithoutSignature) and the app's own bearer check (WithBearer).
// Either may be used alone; a guard with neither refuses to be built.
//
// A workflow guard (NewWorkflowGuard) serves the workflow route and refuses
// failure callbacks unless AllowFailureCallbacks is given; a failure guard
// (NewFailureGuard) serves the failure route and accepts nothing else. A
// failure route left open would let anyone run the failure function.
type Guard struct {
	verifier     *Verifier       // nil without signature verification
	bearer       BearerValidator // nil without a bearer check
	failureRoute bool
	allowFailure bool
	maxBody      int64
	observer     observer
}

// GuardOption configures a Guard. Every Option is also a GuardOption: it
// configures the Verifier the guard builds (keys, tolerance, URL, limits)
// or, for WithLogger and the hooks, the guard's own reporting.
type GuardOption interface {
	applyGuard(*guardConfig)
}

type guardConfig struct {
	verifierOptions []Option
	verifier        *Verifier
	noSignature     bool
	bearer          BearerValidator
	allowFailure    bool
	errs            []error
}

type guardOptionFunc func(*guardConfig)

func (f guardOptionFunc) applyGuard(g *guardConfig) { f(g) }

func (o Option) applyGuard(g *guardConfig) { g.verifierOptions = append(g.verifierOptions, o) }

// WithVerifier makes the guard check signatures with v, in place of one it
// would build from its options or the environment.
func WithVerifier(v *Verifier) GuardOption {
	return guardOptionFunc(func(g *guardConfig) {
		if v == nil {
			g.errs = append(g.errs, fmt.Errorf("%w: nil verifier", ErrConfig))
		}
		g.verifier = v
	})
}

// WithoutSignature turns signature verification off, leaving the bearer
// check alone to authenticate calls (WithBearer is then required). Upstash
// Workflow forwards the trigger's Authorization header on every call, so a
// bearer check still covers each step; but without the signature nothing
// proves that QStash made the call, or that the body is the one sent.
func WithoutSignature() GuardOption {
	return guardOptionFunc(func(g *guardConfig) { g.noSignature = true })
}

// WithBearer requires an `Authorization: Bearer` token that b accepts. What
// b returns is the Result's Principal.
func WithBearer(b BearerValidator) GuardOption {
	return guardOptionFunc(func(g *guardConfig) {
		if b == nil {
			g.errs = append(g.errs, fmt.Errorf("%w: nil bearer validator", ErrConfig))
		}
		g.bearer = b
	})
}

// AllowFailureCallbacks lets a workflow guard pass failure callbacks too, for
// apps that serve the workflow and its failure function on one route. The
// handler tells them apart by Result.Failure (or Delivery.FailureCallback).
func AllowFailureCallbacks() GuardOption {
	return guardOptionFunc(func(g *guardConfig) { g.allowFailure = true })
}

// NewWorkflowGuard builds the guard of a workflow route. Without
// WithVerifier or WithoutSignature it builds a Verifier from its Options,
// which read the keys from the environment when none is given.
func NewWorkflowGuard(opts ...GuardOption) (*Guard, error) {
	return newGuard(false, opts)
}

// NewFailureGuard builds the guard of a failure route: it accepts only
// failure callbacks, authenticated as configured, and decodes their payload
// into Result.Failure. The bearer token of a failure callback is taken from
// its Authorization header or, where absent, from the sourceHeader of the
// payload (the headers of the call that failed).
//
// A failure callback is recognised by its Upstash-Workflow-Is-Failure or
// Upstash-Workflow-Failure-Callback header (see IsFailureCallback). Upstash
// Workflow asks QStash to add them; a plain QStash publisher that points
// Upstash-Failure-Callback at this route adds them the same way, by also
// sending Upstash-Failure-Callback-Forward-Upstash-Workflow-Is-Failure: true.
func NewFailureGuard(opts ...GuardOption) (*Guard, error) {
	return newGuard(true, opts)
}

func newGuard(failureRoute bool, opts []GuardOption) (*Guard, error) {
	var gc guardConfig
	for _, opt := range opts {
		if opt == nil {
			gc.errs = append(gc.errs, fmt.Errorf("%w: nil option", ErrConfig))
			continue
		}
		opt.applyGuard(&gc)
	}
	var c config
	for _, opt := range gc.verifierOptions {
		if opt == nil {
			gc.errs = append(gc.errs, fmt.Errorf("%w: nil option", ErrConfig))
			continue
		}
		opt(&c)
	}
	if err := checkGuardConfig(failureRoute, &gc, &c); err != nil {
		return nil, err
	}

	g := &Guard{
		verifier:     gc.verifier,
		bearer:       gc.bearer,
		failureRoute: failureRoute,
		allowFailure: gc.allowFailure,
		maxBody:      DefaultMaxBodyBytes,
		observer:     c.observer,
	}
	if c.maxBody > 0 {
		g.maxBody = c.maxBody
	}
	if g.verifier == nil && !gc.noSignature {
		v, err := NewVerifier(gc.verifierOptions...)
		if err != nil {
			return nil, err
		}
		g.verifier = v
	}
	if g.verifier != nil {
		g.maxBody = g.verifier.maxBody
		if c.observer.empty() {
			g.observer = g.verifier.observer
		}
	}
	return g, nil
}

func checkGuardConfig(failureRoute bool, gc *guardConfig, c *config) error {
	errs := append(gc.errs, c.errs...)
	switch {
	case gc.noSignature && gc.bearer == nil:
		errs = append(errs, fmt.Errorf("%w: a guard needs signature verification or a bearer "+
			"check; drop WithoutSignature, or add WithBearer", ErrConfig))
	case gc.noSignature && gc.verifier != nil:
		errs = append(errs, fmt.Errorf("%w: WithoutSignature contradicts WithVerifier", ErrConfig))
	case gc.noSignature && c.settings > 0:
		errs = append(errs, fmt.Errorf("%w: verifier options given with WithoutSignature",
			ErrConfig))
	case gc.verifier != nil && c.settings > 0:
		errs = append(errs, fmt.Errorf("%w: verifier options given beside WithVerifier; "+
			"pass them to NewVerifier instead", ErrConfig))
	}
	if failureRoute && gc.allowFailure {
		errs = append(errs, fmt.Errorf("%w: AllowFailureCallbacks is for workflow guards; "+
			"a failure guard accepts only failure callbacks", ErrConfig))
	}
	if gc.bearer != nil {
		if err := bearerConfigError(gc.bearer); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check authenticates r and tells what kind of call it is. The signature
// is checked first, then the bearer token, then the kind of call; so an
// unauthenticated caller learns nothing about the route. On success r.Body
// still reads the original bytes.
func (g *Guard) Check(r *http.Request) (*Result, error) {
	if g == nil {
		return nil, errNoGuard
	}
	res, err := g.check(r)
	if err != nil {
		g.observer.rejected(r, err)
		return nil, err
	}
	g.observer.accepted(r, res)
	return res, nil
}

func (g *Guard) check(r *http.Request) (res *Result, err error) {
	if g.verifier == nil && g.bearer == nil {
		// A Guard not made by its constructors checks nothing: refuse.
		return nil, errNoGuard
	}
	res = &Result{Delivery: deliveryOf(r.Header)}
	var body []byte
	if g.verifier != nil {
		var c *Claims
		c, body, err = g.verifier.verifyRequest(r)
		if err != nil {
			return nil, err
		}
		res.Claims = c
		// A call refused after its signature passed gives its id back to
		// the replay store: the refusal was not a delivery.
		defer func() {
			if err != nil {
				c.Settle(r.Context(), StatusCode(err))
			}
		}()
	}

	// A bearer token in the request's own headers is checked before
	// anything else is read.
	bearerDone := g.bearer == nil
	var tokenErr error
	if !bearerDone {
		var token string
		if token, tokenErr = BearerToken(r.Header); tokenErr == nil {
			p, err := g.bearer.ValidateBearer(r.Context(), token)
			if err != nil {
				return nil, bearerError(err)
			}
			res.Principal, bearerDone = p, true
		}
	}

	failure := res.Delivery.FailureCallback
	switch {
	case !failure && !bearerDone:
		return nil, tokenErr
	case !failure && g.failureRoute:
		return nil, fmt.Errorf("%w: the failure route takes only calls with "+
			"Upstash-Workflow-Is-Failure or Upstash-Workflow-Failure-Callback", ErrNotFailureCallback)
	case !failure:
		return res, nil
	case !g.failureRoute && !g.allowFailure:
		if !bearerDone {
			return nil, tokenErr
		}
		return nil, fmt.Errorf("%w: this workflow route does not take failure callbacks; "+
			"give it AllowFailureCallbacks or send them to the failure route",
			ErrFailureCallbackNotAllowed)
	}

	if g.verifier == nil {
		b, err := readBody(r, g.maxBody)
		if err != nil {
			return nil, err
		}
		restoreBody(r, b)
		body = b
	}
	p, err := DecodeFailurePayload(body)
	if err != nil {
		if !bearerDone {
			// Not authenticated yet: say so, rather than what is wrong
			// with a payload from an unknown caller.
			return nil, tokenErr
		}
		return nil, err
	}
	res.Failure = p

	// Workflow sends the failure callback with the headers of the call
	// that failed in sourceHeader; its Authorization header is the
	// trigger's.
	if !bearerDone {
		token, err := BearerToken(p.SourceHeader)
		if err != nil {
			return nil, err
		}
		principal, err := g.bearer.ValidateBearer(r.Context(), token)
		if err != nil {
			return nil, bearerError(err)
		}
		res.Principal = principal
	}
	return res, nil
}

var errNoGuard = fmt.Errorf("%w: a Guard must come from NewWorkflowGuard or NewFailureGuard",
	ErrConfig)

// bearerError makes every failure of a validator an ErrInvalidBearer,
// whatever the validator returned, so that StatusCode gives 401 and no
// validator's own error text decides what the client sees.
func bearerError(err error) error {
	if errors.Is(err, ErrInvalidBearer) || errors.Is(err, ErrMissingBearer) ||
		errors.Is(err, ErrConfig) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidBearer, err)
}
