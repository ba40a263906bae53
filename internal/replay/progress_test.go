package replay

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestIsTerminal_FalseForBufferAndFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if IsTerminal(&bytes.Buffer{}) {
		t.Error("IsTerminal(buffer) = true, want false")
	}
	if IsTerminal(f) {
		t.Error("IsTerminal(regular file) = true, want false")
	}
}

func TestProgress_DrawsDescriptionAndCount(t *testing.T) {
	var out bytes.Buffer
	bar := NewProgress(&out, 20, "replaying")

	bar.Add(10)
	bar.Finish()

	if !strings.Contains(out.String(), "replaying") || !strings.Contains(out.String(), "10/20") {
		t.Errorf("bar output = %q, want the description and the count 10/20", out.String())
	}
}

func TestProgress_NilDoesNothing(t *testing.T) {
	var bar *Progress

	bar.Add(1)
	bar.Finish()
}
