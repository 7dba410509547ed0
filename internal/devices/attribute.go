package devices

import (
	"cmp"
	"slices"
	"strings"
)

// ConflictThreshold is the confidence from which a second device's
// evidence makes an attribution a Conflict.
const ConflictThreshold = 0.7

// Attribution is the device an address's banners name.
type Attribution struct {
	// Vendor is "" when no rule matched: the address is not attributed.
	// Model is "" when the evidence names only the vendor, Firmware ""
	// when no banner carried it.
	Vendor, Model, Kind, Firmware string
	// Confidence combines the matches that agree with the attribution.
	Confidence float64
	// Rule is the deciding match's rule: the surest one naming the model
	// (the vendor when no match names a model).
	Rule string
	// Alternatives holds the deciding match of each other device whose
	// evidence against the winner reaches ConflictThreshold; Conflict
	// says the winner's against it does too: two devices behind one
	// address (NAT), or one after another.
	Conflict     bool
	Alternatives []Match
}

// candidate is one device an address's matches may name.
type candidate struct {
	vendorKey, modelKey string
	models              []Match // matches naming this model
	vendor              []Match // the vendor's matches naming no model
	score               float64
}

// Attribute names the device behind one address from the matches of all
// its banners (every port, every source):
//
//   - Matches are grouped by vendor (NormalizeVendor's spelling), then by
//     model, compared in lower case without punctuation; a model that
//     ends another ("C2600", "Archer C2600") is the same model.
//   - A rule counts once per model however many services it matched: two
//     ports of one web interface are one piece of evidence.
//   - A candidate's confidence combines its matches and its vendor's
//     model-less matches as independent evidence: 1 − Π(1 − cᵢ), so
//     agreeing matches raise it.
//   - A candidate naming a model beats one naming only a vendor, whatever
//     their confidences; among equals the higher confidence wins, then
//     the more matches, then the lower rule id (the result does not
//     depend on the matches' order).
//   - Another candidate whose evidence against the winner reaches
//     ConflictThreshold is listed in Alternatives; when the winner's
//     against it reaches it too, the attribution is a Conflict: it is
//     never silently resolved. Against another model of the same vendor
//     a candidate's evidence is its own (its model's matches, without the
//     vendor's shared ones); against another vendor it is all of it.
//   - Kind is the surest supporting match's that is not the generic
//     "device"; Firmware the surest supporting match's that carries one.
func Attribute(matches []Match) Attribution {
	cands := candidates(matches)
	if len(cands) == 0 {
		return Attribution{}
	}
	slices.SortFunc(cands, func(a, b *candidate) int {
		if a.named() != b.named() {
			if a.named() {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.models)+len(b.vendor), len(a.models)+len(a.vendor)); c != 0 {
			return c
		}
		return strings.Compare(a.deciding().Rule, b.deciding().Rule)
	})
	win := cands[0]
	d := win.deciding()
	at := Attribution{Vendor: d.Vendor, Model: d.Model, Confidence: win.score, Rule: d.Rule}
	support := append(slices.Clone(win.models), win.vendor...)
	slices.SortStableFunc(support, func(a, b Match) int { return cmp.Compare(b.Confidence, a.Confidence) })
	for _, m := range support {
		if at.Kind == "" && m.Kind != "device" {
			at.Kind = m.Kind
		}
		if at.Firmware == "" {
			at.Firmware = m.Firmware
		}
	}
	if at.Kind == "" {
		at.Kind = d.Kind
	}
	for _, c := range cands[1:] {
		if c.against(win) >= ConflictThreshold {
			at.Alternatives = append(at.Alternatives, c.deciding())
			at.Conflict = at.Conflict || win.against(c) >= ConflictThreshold
		}
	}
	return at
}

// against is the confidence of c's evidence against another candidate: a
// candidate of another vendor has all of its evidence (a strong realm of
// Huawei's is evidence of a second device beside a MikroTik), one of the
// same vendor only its own (own), since the vendor's model-less matches
// are shared by both.
func (c *candidate) against(other *candidate) float64 {
	if c.vendorKey != other.vendorKey {
		return c.score
	}
	return c.own()
}

// own is the confidence of the candidate's own evidence: its model's
// matches, without the vendor's model-less ones that every model of the
// vendor shares (or those, for a candidate naming no model).
func (c *candidate) own() float64 {
	if c.named() {
		return combined(c.models)
	}
	return combined(c.vendor)
}

// named: the candidate names a model, not only a vendor.
func (c *candidate) named() bool { return c.modelKey != "" }

// deciding is the candidate's surest match naming its model, or its
// vendor's surest when none does.
func (c *candidate) deciding() Match {
	ms := c.models
	if len(ms) == 0 {
		ms = c.vendor
	}
	best := ms[0]
	for _, m := range ms[1:] {
		if m.Confidence > best.Confidence || m.Confidence == best.Confidence && m.Rule < best.Rule {
			best = m
		}
	}
	return best
}

// candidates groups matches into devices, each rule counted once per
// model.
func candidates(matches []Match) []*candidate {
	type evidence struct{ rule, vendor, model string }
	best := map[evidence]Match{}
	for _, m := range matches {
		if m.Vendor == "" {
			continue
		}
		e := evidence{m.Rule, foldKey(m.Vendor), foldKey(m.Model)}
		if old, ok := best[e]; !ok || m.Confidence > old.Confidence || m.Confidence == old.Confidence && m.Firmware > old.Firmware {
			best[e] = m
		}
	}
	byVendor := map[string][]Match{}
	for e, m := range best {
		byVendor[e.vendor] = append(byVendor[e.vendor], m)
	}
	var out []*candidate
	for vk, ms := range byVendor {
		// Longest model first, so that a shorter one joins the model it
		// ends.
		slices.SortFunc(ms, func(a, b Match) int {
			if c := cmp.Compare(len(foldKey(b.Model)), len(foldKey(a.Model))); c != 0 {
				return c
			}
			return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Model, b.Model))
		})
		var models []*candidate
		var vendorOnly []Match
		for _, m := range ms {
			mk := foldKey(m.Model)
			if mk == "" {
				vendorOnly = append(vendorOnly, m)
				continue
			}
			i := slices.IndexFunc(models, func(c *candidate) bool { return sameModel(c.modelKey, mk) })
			if i < 0 {
				models = append(models, &candidate{vendorKey: vk, modelKey: mk})
				i = len(models) - 1
			}
			models[i].models = append(models[i].models, m)
		}
		if len(models) == 0 {
			models = []*candidate{{vendorKey: vk}}
		}
		for _, c := range models {
			c.vendor = vendorOnly
			c.score = combined(c.models, c.vendor)
			out = append(out, c)
		}
	}
	return out
}

// sameModel: equal keys, or the shorter (at least 3 characters) ends the
// longer.
func sameModel(long, short string) bool {
	return long == short || len(short) >= 3 && strings.HasSuffix(long, short)
}

// combined is 1 − Π(1 − c) over the matches.
func combined(lists ...[]Match) float64 {
	miss := 1.0
	for _, ms := range lists {
		for _, m := range ms {
			miss *= 1 - m.Confidence
		}
	}
	return 1 - miss
}
