package slacktest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/oktawatch/oktawatch/internal/slack"
)

// wireMessage is the part of a webhook body that strict mode checks. It is
// decoded independently of slack.Message, so that the check does not trust
// the code under test.
type wireMessage struct {
	Text   *string     `json:"text"`
	Blocks []wireBlock `json:"blocks"`
}

type wireBlock struct {
	Type     string            `json:"type"`
	Text     *wireText         `json:"text"`
	Fields   []wireText        `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

type wireText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// checkRequest returns the status, Slack error string and description of
// the first rule the request breaks, or an empty description when it
// passes. A body that is not JSON gets 400 invalid_payload, a missing
// fallback text 400 no_text and a block over a limit 400 invalid_blocks, as
// from Slack. The 405 response to a method other than POST is this fake's own.
func checkRequest(r *http.Request, body []byte) (int, string, string) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "invalid_method", "method " + r.Method + " is not POST"
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return http.StatusBadRequest, "invalid_payload",
			fmt.Sprintf("content type %q is not application/json", r.Header.Get("Content-Type"))
	}

	var m wireMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return http.StatusBadRequest, "invalid_payload", "body is not valid JSON: " + err.Error()
	}
	if m.Text == nil || strings.TrimSpace(*m.Text) == "" {
		return http.StatusBadRequest, "no_text", "top-level text is missing or blank"
	}
	if violation := checkBlocks(m.Blocks); violation != "" {
		return http.StatusBadRequest, "invalid_blocks", violation
	}
	return 0, "", ""
}

func checkBlocks(blocks []wireBlock) string {
	if len(blocks) > slack.MaxBlocks {
		return fmt.Sprintf("message has %d blocks, limit %d", len(blocks), slack.MaxBlocks)
	}
	for i, block := range blocks {
		var violation string
		switch block.Type {
		case "header":
			violation = checkHeader(block)
		case "section":
			violation = checkSection(block)
		case "context":
			violation = checkContext(block)
		case "":
			violation = "type is missing"
		}
		if violation != "" {
			return fmt.Sprintf("block %d (%s): %s", i, block.Type, violation)
		}
	}
	return ""
}

func checkHeader(block wireBlock) string {
	if block.Text == nil {
		return "text is missing"
	}
	if block.Text.Type != "plain_text" {
		return fmt.Sprintf("text type is %q, want plain_text", block.Text.Type)
	}
	return checkText("text", *block.Text, slack.MaxHeaderTextLength)
}

func checkSection(block wireBlock) string {
	if block.Text == nil && len(block.Fields) == 0 {
		return "neither text nor fields"
	}
	if block.Text != nil {
		if violation := checkText("text", *block.Text, slack.MaxSectionTextLength); violation != "" {
			return violation
		}
	}
	if len(block.Fields) > slack.MaxSectionFields {
		return fmt.Sprintf("%d fields, limit %d", len(block.Fields), slack.MaxSectionFields)
	}
	for i, field := range block.Fields {
		if violation := checkText(fmt.Sprintf("field %d", i), field, slack.MaxFieldTextLength); violation != "" {
			return violation
		}
	}
	return ""
}

func checkContext(block wireBlock) string {
	if len(block.Elements) == 0 {
		return "no elements"
	}
	if len(block.Elements) > slack.MaxContextElements {
		return fmt.Sprintf("%d elements, limit %d", len(block.Elements), slack.MaxContextElements)
	}
	return ""
}

// checkText applies the rules of a text object: a known type and a length
// from 1 to maxLength code points.
func checkText(name string, text wireText, maxLength int) string {
	if text.Type != "plain_text" && text.Type != "mrkdwn" {
		return fmt.Sprintf("%s has type %q, want plain_text or mrkdwn", name, text.Type)
	}
	length := utf8.RuneCountInString(text.Text)
	if length == 0 {
		return name + " is empty"
	}
	if length > maxLength {
		return fmt.Sprintf("%s has %d characters, limit %d", name, length, maxLength)
	}
	return ""
}
