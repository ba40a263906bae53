// Package slack turns burst alerts into Slack Block Kit messages and posts
// them to a Slack incoming webhook.
//
// BuildMessage keeps every message inside Slack's documented Block Kit limits,
// which are exported below so that tests and fakes check the same numbers.
// Client.Post sends a message and classifies each failure with a Reason that
// decides whether the caller retries.
package slack

// Block Kit limits from Slack's reference pages for the header, section and
// context blocks and the text object (https://docs.slack.dev/reference/block-kit).
// Lengths count Unicode code points of the text as sent, so an escape such as
// "&amp;" counts as five.
const (
	// MaxBlocks is the maximum number of blocks in one message.
	MaxBlocks = 50
	// MaxHeaderTextLength is the maximum length of a header block's text.
	MaxHeaderTextLength = 150
	// MaxSectionTextLength is the maximum length of a section block's text.
	MaxSectionTextLength = 3000
	// MaxSectionFields is the maximum number of fields in one section block.
	MaxSectionFields = 10
	// MaxFieldTextLength is the maximum length of one section field's text.
	MaxFieldTextLength = 2000
	// MaxContextElements is the maximum number of elements in a context block.
	MaxContextElements = 10
)

// Caps that keep a message readable and far inside Slack's limits. With them
// a message has at most 15 blocks: up to five fixed ones and up to
// maxListSections sections for each of the two lists.
const (
	// maxListed is how many users or actors a message lists by name before it
	// summarises the rest as "and N more".
	maxListed = 20
	// maxNameLength caps one display name, login or group name in a list line
	// or field, so that a single value cannot crowd out the rest.
	maxNameLength = 150
	// maxListSections caps the sections one list may span.
	maxListSections = 5
)
