package scan

import (
	"bytes"
	"fmt"
	"sync"
)

// maxAuditOutput bounds what one audit command may print (its standard
// output and its standard error, each): past it the audit is stopped, its
// check fails with the limit as the reason, and only the first part is
// kept. No shipped audit prints more than a few kilobytes.
const maxAuditOutput = 1 << 20

// errOutputLimit is an audit stopped for printing too much.
var errOutputLimit = fmt.Errorf("its output exceeds %d bytes, the limit of an audit's output; it was stopped", maxAuditOutput)

// boundedOutput keeps the first max bytes written to it and drops the
// rest; the first time more comes, it calls stop (which kills the audit).
type boundedOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int
	over bool
	stop func()
}

func (b *boundedOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:room])
		if !b.over {
			b.over = true
			b.stop()
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *boundedOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *boundedOutput) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

func (b *boundedOutput) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// maxReasonOutput bounds how much of an audit's output a reason quotes.
const maxReasonOutput = 2048

// excerpt is the start of an output, for a reason.
func excerpt(s string) string {
	if len(s) <= maxReasonOutput {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes in all)", s[:maxReasonOutput], len(s))
}
