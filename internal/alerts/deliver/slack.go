package deliver

import (
	"fmt"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The body of a Slack incoming webhook: text, the fallback of the
// notification's pop-up, and Block Kit blocks, what the channel shows.
type slackPayload struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"` // header, section, context
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Slack's limits on a block's text.
const (
	slackHeaderLen  = 150
	slackSectionLen = 3000
	slackFieldLen   = 2000
)

// slackMessage is the notification in Slack's shape; its alert's link is
// absolute.
func slackMessage(n store.Notification) slackPayload {
	a := n.Alert
	mrkdwn := func(s string, limit int) slackText { return slackText{Type: "mrkdwn", Text: truncate(s, limit)} }
	field := func(name, value string) slackText { return mrkdwn("*"+name+"*\n"+slackEscape(value), slackFieldLen) }
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate("Nightjar: "+eventTitle(n), slackHeaderLen)}},
		{Type: "section", Text: ptr(mrkdwn(fmt.Sprintf("*<%s|%s>*", slackURL(a.Link), slackEscape(a.Summary)), slackSectionLen))},
		{Type: "section", Fields: []slackText{
			field("Detector", a.Detector), field("Scope", a.Scope.String()),
			field("Severity", string(a.Severity)), field("State", string(a.State)),
			field("Since", hourText(a.Start)), field("Last seen", hourText(a.LastSeen)),
		}},
	}
	if ev := evidenceText(a.Evidence); ev != "" {
		text := "*Evidence*\n" + slackEscape(ev)
		if peers := peerTexts(a.Evidence); len(peers) > 0 {
			text += "\n*The others in the same hour*\n" + slackEscape(strings.Join(peers, "\n"))
		}
		blocks = append(blocks, slackBlock{Type: "section", Text: ptr(mrkdwn(text, slackSectionLen))})
	}
	context := fmt.Sprintf("Nightjar alert #%d", a.ID)
	if a.Research {
		context += " · " + researchNote
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{mrkdwn(slackEscape(context), slackFieldLen)}})
	return slackPayload{
		Text:   slackEscape(fmt.Sprintf("[%s] %s: %s", a.Severity, n.Event, a.Summary)),
		Blocks: blocks,
	}
}

func ptr[T any](v T) *T { return &v }

// slackEscape escapes the three characters Slack reads as markup (so that
// a summary cannot "<!channel>" anyone).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// slackURL makes a URL safe between < and |: the characters that would end
// it are percent-encoded, which a valid URL does not hold raw anyway.
var slackURL = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C").Replace
