// Package jsonscan reads JSON in one pass over a byte slice, without
// reflection: the admission hot path reads the few fields it needs and
// skips the rest, validating as encoding/json does. Anything it does not
// read exactly as encoding/json would (a malformed document, a string
// whose escapes it does not decode itself) is reported, never guessed: its
// callers fall back to encoding/json then.
package jsonscan

import (
	"encoding/json"
	"unsafe"
)

// MaxDepth is encoding/json's nesting limit: deeper documents are refused.
const MaxDepth = 10000

// Scanner reads one JSON document from B. Ok is false from the first
// syntax error on; every method then returns at once.
type Scanner struct {
	B     []byte
	I     int
	depth int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Peek returns the next byte after white space, or 0 at the end.
func (s *Scanner) Peek() byte {
	for s.I < len(s.B) && isSpace(s.B[s.I]) {
		s.I++
	}
	if s.I == len(s.B) {
		return 0
	}
	return s.B[s.I]
}

// AtEnd reports whether only white space is left.
func (s *Scanner) AtEnd() bool { return s.Peek() == 0 && s.I == len(s.B) }

// Consume skips white space and c, reporting whether c was next.
func (s *Scanner) Consume(c byte) bool {
	if s.Peek() != c || s.I == len(s.B) {
		return false
	}
	s.I++
	return true
}

// Literal consumes word (true, false, null) if it comes next.
func (s *Scanner) Literal(word string) bool {
	s.Peek()
	if len(s.B)-s.I < len(word) || string(s.B[s.I:s.I+len(word)]) != word {
		return false
	}
	s.I += len(word)
	return true
}

// Null consumes a null if it comes next.
func (s *Scanner) Null() bool { return s.Peek() == 'n' && s.Literal("null") }

// stringEnd scans a string starting at s.I (its opening quote) and returns
// the index after its closing quote, and whether the string is plain:
// printable ASCII without escapes, so its bytes are its value.
func (s *Scanner) stringEnd() (end int, plain, ok bool) {
	b, i := s.B, s.I+1
	plain = true
	for {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, plain, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			plain = false
			n := escapeLen(b[i:])
			if n == 0 {
				return 0, false, false
			}
			i += n
		default: // 0x80 and over: UTF-8, or bytes encoding/json replaces
			plain = false
			i++
		}
	}
}

// plainByte marks the bytes a plain string is made of: printable ASCII
// but the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escapeLen is the length of the valid escape sequence at the start of b,
// or 0.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, h := range b[2:6] {
			if !isHex(h) {
				return 0
			}
		}
		return 6
	}
	return 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// StringBytes reads a string and returns its value. A plain string's
// value aliases B, valid only as long as B is; any other is decoded by
// encoding/json, so escapes and invalid UTF-8 read exactly as it reads
// them.
func (s *Scanner) StringBytes() ([]byte, bool) {
	if s.Peek() != '"' {
		return nil, false
	}
	end, plain, ok := s.stringEnd()
	if !ok {
		return nil, false
	}
	tok := s.B[s.I:end]
	s.I = end
	if plain {
		return tok[1 : len(tok)-1], true
	}
	var v string
	if json.Unmarshal(tok, &v) != nil {
		return nil, false
	}
	return unsafe.Slice(unsafe.StringData(v), len(v)), true
}

// String reads a string into a new Go string.
func (s *Scanner) String() (string, bool) {
	b, ok := s.StringBytes()
	return string(b), ok
}

// Number reads a number as encoding/json's grammar has it and returns its
// bytes.
func (s *Scanner) Number() ([]byte, bool) {
	s.Peek()
	b, i := s.B, s.I
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		if i+1 >= len(b) || !isDigit(b[i+1]) {
			return nil, false
		}
		i = digits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return nil, false
		}
		i = digits(b, i)
	}
	s.I = i
	return b[start:i], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// Object reads an object, calling member with each key (valid only during
// the call) with the scanner at the value, which member must read. A
// member returning false stops with a failure.
func (s *Scanner) Object(member func(key []byte) bool) bool {
	if !s.Consume('{') || !s.enter() {
		return false
	}
	defer s.leave()
	if s.Consume('}') {
		return true
	}
	for {
		key, ok := s.StringBytes()
		if !ok || !s.Consume(':') || !member(key) {
			return false
		}
		if s.Consume('}') {
			return true
		}
		if !s.Consume(',') {
			return false
		}
	}
}

// Array reads an array, calling elem with the scanner at each element,
// which elem must read.
func (s *Scanner) Array(elem func() bool) bool {
	if !s.Consume('[') || !s.enter() {
		return false
	}
	defer s.leave()
	if s.Consume(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.Consume(']') {
			return true
		}
		if !s.Consume(',') {
			return false
		}
	}
}

func (s *Scanner) enter() bool {
	s.depth++
	return s.depth <= MaxDepth
}

func (s *Scanner) leave() { s.depth-- }

// Skip reads any value, validating it, and returns its bytes.
func (s *Scanner) Skip() ([]byte, bool) {
	if s.Peek() == 0 {
		return nil, false
	}
	start := s.I
	if !s.skipValue() {
		return nil, false
	}
	return s.B[start:s.I:s.I], true
}

// skipValue validates and passes the value at s.I (after white space);
// keys are checked, never decoded.
func (s *Scanner) skipValue() bool {
	switch c := s.Peek(); c {
	case '{', '[':
		return s.skipContainer(c)
	case '"':
		end, _, ok := s.stringEnd()
		if ok {
			s.I = end
		}
		return ok
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	}
	_, ok := s.Number()
	return ok
}

// skipContainer passes an object or array.
func (s *Scanner) skipContainer(open byte) bool {
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	s.I++
	if !s.enter() {
		return false
	}
	defer s.leave()
	if s.Consume(closing) {
		return true
	}
	for {
		if open == '{' {
			if s.Peek() != '"' {
				return false
			}
			end, _, ok := s.stringEnd()
			if !ok {
				return false
			}
			s.I = end
			if !s.Consume(':') {
				return false
			}
		}
		if !s.skipValue() {
			return false
		}
		if s.Consume(closing) {
			return true
		}
		if !s.Consume(',') {
			return false
		}
	}
}
