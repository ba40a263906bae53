package slack

import "time"

// SetNow replaces the clock that turns a Retry-After date into a wait.
func (c *Client) SetNow(now func() time.Time) { c.now = now }
