package devices

import (
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// The prefilter: every rule whose regexp cannot match without one of a
// few literal strings (its "required literals", found in the parsed
// regexp) is run only when a value contains one of them. One Aho-Corasick
// automaton per field finds, in one pass over the value, every rule whose
// literal occurs; the regexps of the others never run. Literals and
// values are compared with ASCII letters folded to lower case, which can
// only let more rules through, never fewer, except for the two non-ASCII
// runes Go's (?i) folds onto ASCII letters (U+212A KELVIN SIGN onto k,
// U+017F LONG S onto s): a (?i) rule whose literal has a k or an s misses
// a value spelling them so, which device banners do not.

const (
	minLiteral  = 2  // shorter literals filter nothing
	maxLiterals = 16 // an alternation of more alternatives is not worth it
)

// requiredLiterals returns literals one of which every match of pattern
// contains, lower-cased; nil when there are none worth filtering on.
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits := literalsOf(re.Simplify())
	for _, l := range lits {
		if len(l) < minLiteral {
			return nil
		}
	}
	return lits
}

func literalsOf(re *syntax.Regexp) []string {
	if lits, ok := exact(re); ok {
		return lits
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return literalsOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literalsOf(re.Sub[0])
		}
	case syntax.OpConcat:
		// Runs of exact parts, across groups, make the longest literals
		// (`realm="` and `DCS-` are `realm="dcs-`).
		var best, run []string
		for _, sub := range flatten(re.Sub, nil) {
			if lits, ok := exact(sub); ok {
				if run = cross(run, lits); run != nil {
					continue
				}
				run = lits
			} else if lits := literalsOf(sub); lits != nil && better(lits, best) {
				best = lits
			}
			if run != nil && better(run, best) {
				best = run
			}
			if _, ok := exact(sub); !ok {
				run = nil
			}
		}
		if run != nil && better(run, best) {
			best = run
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l := literalsOf(sub)
			if l == nil || len(all)+len(l) > maxLiterals {
				return nil
			}
			all = append(all, l...)
		}
		return all
	}
	return nil
}

// flatten splices the concatenations inside groups into one list.
func flatten(subs, out []*syntax.Regexp) []*syntax.Regexp {
	for _, sub := range subs {
		for sub.Op == syntax.OpCapture {
			sub = sub.Sub[0]
		}
		if sub.Op == syntax.OpConcat {
			out = flatten(sub.Sub, out)
		} else {
			out = append(out, sub)
		}
	}
	return out
}

// exact returns every string re matches, lower-cased, when they are few
// and known: literals, small classes, anchors (the empty string), and
// their groups, alternations and concatenations.
func exact(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		l := literalOf(re)
		return l, l != nil
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpCharClass:
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r >= utf8.RuneSelf || len(set) >= 4 {
					return nil, false
				}
				if l := string(lower(byte(r))); !slices.Contains(set, l) {
					set = append(set, l)
				}
			}
		}
		return set, len(set) > 0
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := exact(sub)
			if !ok || len(all)+len(l) > maxLiterals {
				return nil, false
			}
			all = append(all, l...)
		}
		return all, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			l, ok := exact(sub)
			if !ok {
				return nil, false
			}
			if out = cross(out, l); out == nil {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// cross is every a followed by every b; nil when a is nil or there would
// be more than maxLiterals.
func cross(a, b []string) []string {
	if a == nil || len(a)*len(b) > maxLiterals {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// literalOf is a literal node's text, lower-cased; nil when case folding
// reaches beyond ASCII (a (?i) "é" also matches "É", which lower-casing
// ASCII does not see).
func literalOf(re *syntax.Regexp) []string {
	b := make([]byte, 0, len(re.Rune))
	for _, r := range re.Rune {
		if re.Flags&syntax.FoldCase != 0 && r >= utf8.RuneSelf && unicode.SimpleFold(r) != r {
			return nil
		}
		b = utf8.AppendRune(b, r)
	}
	return []string{string(lowerASCII(b))}
}

// better: a set whose shortest literal is longer filters more.
func better(a, b []string) bool {
	if b == nil {
		return true
	}
	ma, mb := shortest(a), shortest(b)
	return ma > mb || ma == mb && len(a) < len(b)
}

func shortest(lits []string) int {
	n := -1
	for _, l := range lits {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}

func lowerASCII(b []byte) []byte {
	for i, c := range b {
		b[i] = lower(c)
	}
	return b
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// automaton is an Aho-Corasick automaton over lower-cased literals, as a
// dense transition table over the bytes the literals use (every other
// byte is one class). Each state lists the rules whose literal ends there.
type automaton struct {
	class   [256]uint8 // upper-case ASCII letters share their lower case's class
	classes int
	// next is state offset + class → the next state's offset
	// (state*classes), complemented when the state has rules.
	next []int32
	out  [][]int32 // state → rules (indexes in the field's rule list)
}

func newAutomaton(lits map[string][]int32) *automaton {
	a := &automaton{classes: 1} // class 0: bytes no literal uses
	for l := range lits {
		for i := 0; i < len(l); i++ {
			if a.class[l[i]] == 0 {
				a.class[l[i]] = uint8(a.classes)
				a.classes++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	// The trie, with -1 for a missing edge.
	trie := [][]int32{a.newState()}
	a.out = [][]int32{nil}
	for l, rules := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := a.class[l[i]]
			if trie[s][c] < 0 {
				trie[s][c] = int32(len(trie))
				trie = append(trie, a.newState())
				a.out = append(a.out, nil)
			}
			s = trie[s][c]
		}
		a.out[s] = append(a.out[s], rules...)
	}
	// Breadth first: each state's failure link and full transitions.
	a.next = make([]int32, len(trie)*a.classes)
	fail := make([]int32, len(trie))
	queue := make([]int32, 0, len(trie))
	for c := 0; c < a.classes; c++ {
		if t := trie[0][c]; t > 0 {
			a.next[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(a.out[s], a.out[fail[s]]...)
		for c := 0; c < a.classes; c++ {
			if t := trie[s][c]; t > 0 {
				fail[t] = a.next[int(fail[s])*a.classes+c]
				a.next[int(s)*a.classes+c] = t
				queue = append(queue, t)
			} else {
				a.next[int(s)*a.classes+c] = a.next[int(fail[s])*a.classes+c]
			}
		}
	}
	// Premultiplied: an entry is its state's offset in next, complemented
	// (negative) when the state has rules, which saves the scan a
	// multiplication and a lookup per byte.
	for i, t := range a.next {
		off := t * int32(a.classes)
		if len(a.out[t]) > 0 {
			off = ^off
		}
		a.next[i] = off
	}
	return a
}

func (a *automaton) newState() []int32 {
	s := make([]int32, a.classes)
	for i := range s {
		s[i] = -1
	}
	return s
}

// scan calls found with every rule whose literal occurs in v (a rule may
// be reported more than once).
func (a *automaton) scan(v string, found func(rule int32)) {
	next, n := a.next, int32(a.classes)
	s := int32(0)
	for i := 0; i < len(v); i++ {
		s = next[s+int32(a.class[v[i]])]
		if s < 0 {
			s = ^s
			for _, r := range a.out[s/n] {
				found(r)
			}
		}
	}
}
