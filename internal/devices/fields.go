package devices

import "github.com/nightjar-telescope/nightjar/internal/banner"

// FieldRules is how many rules read one banner field.
type FieldRules struct {
	Field banner.Field
	Rules int
}

// Fields counts the rules by the field they read, in banner.Fields order
// (fields no rule reads left out).
func (s *Signatures) Fields() []FieldRules {
	var out []FieldRules
	for _, f := range banner.Fields() {
		if fr := s.byField[f]; fr != nil && len(fr.rules) > 0 {
			out = append(out, FieldRules{Field: f, Rules: len(fr.rules)})
		}
	}
	return out
}
