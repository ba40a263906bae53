package replay

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// LargeInput is the number of events above which the replay command shows
// a progress bar, when standard error is a terminal.
const LargeInput = 10_000

// IsTerminal reports whether w is a terminal, where a progress bar can
// redraw itself.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Progress is a progress bar on a terminal. Its methods do nothing on a nil
// Progress, so callers need not check whether a bar is shown.
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress draws a bar of total steps on w. A total of -1 draws a
// spinner with a count, for work of unknown size.
func NewProgress(w io.Writer, total int64, description string) *Progress {
	return &Progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// Add advances the bar by n steps. It is safe for concurrent use.
func (p *Progress) Add(n int) {
	if p != nil {
		_ = p.bar.Add(n)
	}
}

// Finish removes the bar from the terminal.
func (p *Progress) Finish() {
	if p != nil {
		_ = p.bar.Finish()
	}
}
