package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Parse decodes a policy document from YAML or JSON. Input whose first
// non-space byte is '{' is JSON; anything else is YAML. Unknown keys, values
// of the wrong type and syntax errors are errors, located by line where the
// decoder reports one. Parse checks only the shape of the document: call
// Validate (or Compile) to check its meaning.
func Parse(data []byte) (*Document, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("parse policy: empty document")
	}
	if trimmed[0] == '{' {
		return parseJSON(data)
	}
	return parseYAML(data)
}

func parseJSON(data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse policy (JSON): %s%w", jsonLocation(data, err), err)
	}
	// A second value after the document is a mistake, not something to ignore.
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("parse policy (JSON): %sunexpected data after the document",
			location(data, int64(len(data)-len(rest))))
	}
	return &d, nil
}

// jsonLocation returns "line L, column C: " for the errors that carry an
// offset, or "" for the rest (encoding/json reports unknown fields without
// one).
func jsonLocation(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return location(data, syntax.Offset)
	case errors.As(err, &typ):
		return location(data, typ.Offset)
	}
	return ""
}

// location turns a byte offset into "line L, column C: ", counting from 1.
func location(data []byte, offset int64) string {
	if offset < 0 || offset > int64(len(data)) {
		return ""
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d: ", line, col)
}

func parseYAML(data []byte) (*Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var d Document
	if err := dec.Decode(&d); err != nil {
		if err == io.EOF {
			// Only comments or document markers.
			return nil, errors.New("parse policy: empty document")
		}
		return nil, fmt.Errorf("parse policy (YAML): %w", err)
	}
	// A second document would be silently dropped: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("parse policy (YAML): %w", err)
		}
		return nil, fmt.Errorf("parse policy (YAML): line %d: a policy is a single YAML document", extra.Line)
	}
	return &d, nil
}
