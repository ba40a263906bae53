package burst

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// script is a Lua script with the shared helpers prepended.
type script struct {
	src  string
	hash string
}

func newScript(body string) *script {
	s := redis.NewScript(libSource + "\n" + body)
	return &script{src: libSource + "\n" + body, hash: s.Hash()}
}

type scriptCall struct {
	script *script
	keys   []string
	args   []any
}

// maxPipelineCalls bounds the script calls sent in one pipeline. A delivery
// touching more groups is sent in several round trips, so a huge one makes
// progress within the Redis write timeout instead of failing as a whole.
const maxPipelineCalls = 1000

// runScripts runs the calls with EVALSHA, in pipelines of at most
// maxPipelineCalls. It stops at the first failed chunk; the calls before it
// have taken effect.
func runScripts(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall) ([]any, error) {
	replies := make([]any, 0, len(calls))
	for start := 0; start < len(calls); start += maxPipelineCalls {
		chunk, err := runPipeline(ctx, rdb, calls[start:min(start+maxPipelineCalls, len(calls))])
		var callErr *callError
		if errors.As(err, &callErr) {
			callErr.index += start
		}
		if err != nil {
			return nil, err
		}
		replies = append(replies, chunk...)
	}
	return replies, nil
}

// runPipeline runs the calls in one pipeline with EVALSHA. Calls that fail
// with NOSCRIPT (after SCRIPT FLUSH, a restart or a failover) did not run, so
// they are sent again with EVAL, which also caches the script.
func runPipeline(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall) ([]any, error) {
	replies := make([]any, len(calls))
	if len(calls) == 0 {
		return replies, nil
	}
	cmds := make([]*redis.Cmd, len(calls))
	pipe := rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = pipe.EvalSha(ctx, c.script.hash, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx)

	var retry []int
	for i, cmd := range cmds {
		err := cmd.Err()
		switch {
		case err == nil:
			replies[i] = cmd.Val()
		case isNoScript(err):
			retry = append(retry, i)
		default:
			return nil, wrapCallError(i, err)
		}
	}
	if len(retry) == 0 {
		return replies, nil
	}

	pipe = rdb.Pipeline()
	for _, i := range retry {
		cmds[i] = pipe.Eval(ctx, calls[i].script.src, calls[i].keys, calls[i].args...)
	}
	_, _ = pipe.Exec(ctx)
	for _, i := range retry {
		if err := cmds[i].Err(); err != nil {
			return nil, wrapCallError(i, err)
		}
		replies[i] = cmds[i].Val()
	}
	return replies, nil
}

// callError is an error Redis returned for one script call, such as
// WRONGTYPE when a key holds data the scripts did not write.
type callError struct {
	index int
	err   error
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// wrapCallError marks errors that Redis returned for the call itself, as
// opposed to connection errors that fail the whole pipeline.
func wrapCallError(i int, err error) error {
	var rerr redis.Error
	if errors.As(err, &rerr) && !errors.Is(err, context.DeadlineExceeded) {
		return &callError{index: i, err: err}
	}
	return err
}

func isNoScript(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOSCRIPT")
}
