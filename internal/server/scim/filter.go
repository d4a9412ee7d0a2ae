package scim

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// attrs returns the values of a resource's attribute, lower-case name and
// optional sub-attribute ("emails", "value"), and whether the attribute
// is known (an unknown one is invalidFilter, not an empty match).
type attrs func(name, sub string) (vals []any, known bool)

// parseFilter parses a list's filter query; "" matches everything.
func parseFilter(q string) (filter.Expression, error) {
	if strings.TrimSpace(q) == "" {
		return nil, nil
	}
	e, err := filter.ParseFilter([]byte(q))
	if err != nil {
		return nil, badRequest("invalidFilter", "the filter is not valid SCIM filter syntax")
	}
	return e, nil
}

// match evaluates a filter against a resource (nil matches).
func match(e filter.Expression, get attrs) (bool, error) {
	return eval(e, get, "")
}

func eval(e filter.Expression, get attrs, parent string) (bool, error) {
	switch e := e.(type) {
	case nil:
		return true, nil
	case *filter.LogicalExpression:
		l, err := eval(e.Left, get, parent)
		if err != nil {
			return false, err
		}
		r, err := eval(e.Right, get, parent)
		if err != nil {
			return false, err
		}
		if e.Operator == filter.AND {
			return l && r, nil
		}
		return l || r, nil
	case *filter.NotExpression:
		ok, err := eval(e.Expression, get, parent)
		return !ok, err
	case *filter.ValuePath:
		return eval(e.ValueFilter, get, strings.ToLower(e.AttributePath.AttributeName))
	case *filter.AttributeExpression:
		name, sub := strings.ToLower(e.AttributePath.AttributeName), strings.ToLower(e.AttributePath.SubAttributeName())
		if uri := e.AttributePath.URI(); uri != "" && uri != SchemaUser && uri != SchemaGroup && uri != SchemaEnterprise {
			return false, badRequest("invalidFilter", "unknown schema %s in filter", uri)
		}
		if parent != "" {
			name, sub = parent, name
		}
		vals, known := get(name, sub)
		if !known {
			return false, badRequest("invalidFilter", "attribute %s cannot be filtered on", e.AttributePath)
		}
		if e.Operator == filter.PR {
			for _, v := range vals {
				if s, ok := v.(string); !ok || s != "" {
					return true, nil
				}
			}
			return false, nil
		}
		for _, v := range vals {
			if compare(v, e.Operator, e.CompareValue, name == "externalid" || name == "id") {
				return true, nil
			}
		}
		return false, nil
	}
	return false, badRequest("invalidFilter", "unsupported filter")
}

// compare applies op to a resource value and the filter's value. Strings
// compare case-insensitively unless exact (caseExact attributes).
func compare(v any, op filter.CompareOperator, want any, exact bool) bool {
	switch v := v.(type) {
	case bool:
		w, ok := want.(bool)
		if !ok {
			return false
		}
		switch op {
		case filter.EQ:
			return v == w
		case filter.NE:
			return v != w
		}
		return false
	case string:
		w, ok := want.(string)
		if !ok {
			return op == filter.NE
		}
		if !exact {
			v, w = strings.ToLower(v), strings.ToLower(w)
		}
		switch op {
		case filter.EQ:
			return v == w
		case filter.NE:
			return v != w
		case filter.CO:
			return strings.Contains(v, w)
		case filter.SW:
			return strings.HasPrefix(v, w)
		case filter.EW:
			return strings.HasSuffix(v, w)
		case filter.GT:
			return v > w
		case filter.GE:
			return v >= w
		case filter.LT:
			return v < w
		case filter.LE:
			return v <= w
		}
	}
	return false
}
