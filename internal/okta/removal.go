package okta

import "time"

// Actor is the principal that performed a removal.
type Actor struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

// Removal is one successful group.user_membership.remove event, reduced to
// what burst detection and alerts need.
type Removal struct {
	// EventID is the System Log event uuid; it identifies a removal across
	// Okta's duplicate deliveries.
	EventID   string    `json:"uuid"`
	Published time.Time `json:"published"`

	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`

	UserID    string `json:"user_id"`
	UserLogin string `json:"user_login"`
	UserName  string `json:"user_name"`

	Actor Actor `json:"actor"`
}
