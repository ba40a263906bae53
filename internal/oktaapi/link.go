package oktaapi

import (
	"fmt"
	"net/http"
	"strings"
)

// link is one entry of a Link header (RFC 8288): a target and its rel types.
type link struct {
	target string
	rels   []string
}

// nextLink returns the target of the first link with rel "next" across all
// Link headers, or "" when there is none. Okta sends self and next as
// separate headers; a single header may also list several links separated
// by commas.
func nextLink(h http.Header) (string, error) {
	for _, value := range h.Values("Link") {
		links, err := parseLinks(value)
		if err != nil {
			return "", err
		}
		for _, l := range links {
			for _, rel := range l.rels {
				if strings.EqualFold(rel, "next") {
					return l.target, nil
				}
			}
		}
	}
	return "", nil
}

// parseLinks parses one Link header value such as
// <https://a/1>; rel="self", <https://a/2>; rel=next.
func parseLinks(value string) ([]link, error) {
	var links []link
	rest := value
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return links, nil
		}
		if rest[0] != '<' {
			return nil, fmt.Errorf("invalid Link header %q: expected '<' before a link target", value)
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return nil, fmt.Errorf("invalid Link header %q: missing '>' after a link target", value)
		}
		l := link{target: strings.TrimSpace(rest[1:end])}

		params, remaining, err := splitParams(rest[end+1:])
		if err != nil {
			return nil, fmt.Errorf("invalid Link header %q: %w", value, err)
		}
		for _, param := range params {
			name, paramValue, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(name), "rel") {
				l.rels = append(l.rels, strings.Fields(unquote(strings.TrimSpace(paramValue)))...)
			}
		}
		links = append(links, l)
		rest = remaining
	}
}

// splitParams reads the ;-separated parameters after a link target up to the
// comma that ends the link, honouring quoted strings. It returns the
// parameters and the text after that comma.
func splitParams(s string) (params []string, rest string, err error) {
	var current strings.Builder
	inQuotes := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inQuotes && ch == '\\' && i+1 < len(s):
			current.WriteByte(ch)
			i++
			ch = s[i]
		case ch == '"':
			inQuotes = !inQuotes
		case !inQuotes && ch == ';':
			params = appendParam(params, current.String())
			current.Reset()
			continue
		case !inQuotes && ch == ',':
			return appendParam(params, current.String()), s[i+1:], nil
		}
		current.WriteByte(ch)
	}
	if inQuotes {
		return nil, "", fmt.Errorf("unterminated quoted string")
	}
	return appendParam(params, current.String()), "", nil
}

func appendParam(params []string, param string) []string {
	if param = strings.TrimSpace(param); param != "" {
		params = append(params, param)
	}
	return params
}

// unquote removes the quotes and backslash escapes of a quoted string.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
