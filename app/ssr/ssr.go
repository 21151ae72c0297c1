// Package ssr renders go-app UI trees to HTML on the server, with every attribute value and
// text node escaped for HTML.
//
// go-app v9's own writer (app.HTMLString, app.PrintHTML) quotes attribute values with Go's
// strconv.Quote, which escapes nothing HTML cares about: a value holding `"><b>` closes the
// attribute and opens elements, and a backslash or newline comes out doubled or as `\n`. It
// also writes attributes in map order and a false boolean attribute (`hidden="false"`) as
// present. The server must therefore never use go-app's writer for a page: String walks the
// same tree (elements, text, raw HTML, components) and writes it itself. The browser side is
// not affected: there go-app sets attributes and text through the DOM.
//
// go-app exposes no accessors for an element's tag, attributes and children, so the walk
// reads them by reflection from go-app v9.8.0's unexported fields; if a go-app upgrade renames
// them, String returns an error (and this package's tests fail) rather than writing anything
// unescaped.
package ssr

import (
	"errors"
	"fmt"
	"html"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
)

// maxDepth bounds the walk (components rendering components): far above any real page.
const maxDepth = 256

// String renders ui as HTML. It fails, writing nothing usable, on a tree it cannot render
// safely: an unknown node kind, a go-app whose internals differ from v9.8.0's, or script or
// style text that would end its element.
func String(ui app.UI) (string, error) {
	var b strings.Builder
	if err := Write(&b, ui); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Write renders ui as HTML into b (see String).
func Write(b *strings.Builder, ui app.UI) error {
	return write(b, ui, "", 0)
}

// Attr writes ` name="value"` with value escaped for a double-quoted HTML attribute: for the
// parts of a document written by hand rather than as a go-app tree.
func Attr(b *strings.Builder, name, value string) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	b.WriteString(html.EscapeString(value))
	b.WriteByte('"')
}

// booleanAttrs are the HTML boolean attributes go-app sets from a Go bool ("true"/"false"):
// present when true, absent when false (in HTML any value, even "false", means true).
var booleanAttrs = map[string]bool{
	"allowfullscreen": true, "async": true, "autofocus": true, "autoplay": true, "checked": true,
	"controls": true, "default": true, "defer": true, "disabled": true, "formnovalidate": true,
	"hidden": true, "inert": true, "ismap": true, "loop": true, "multiple": true, "muted": true,
	"nomodule": true, "novalidate": true, "open": true, "playsinline": true, "readonly": true,
	"required": true, "reversed": true, "selected": true,
}

// voidElements have no end tag.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

func write(b *strings.Builder, ui app.UI, parentTag string, depth int) error {
	if ui == nil {
		return nil
	}
	if depth > maxDepth {
		return errors.New("ssr: tree deeper than 256 levels")
	}
	switch ui.Kind() {
	case app.Component:
		c, ok := ui.(app.Composer)
		if !ok {
			return fmt.Errorf("ssr: component %T has no Render", ui)
		}
		return write(b, c.Render(), parentTag, depth+1)
	case app.SimpleText:
		v, err := field(ui, "value")
		if err != nil {
			return err
		}
		return writeText(b, v.String(), parentTag)
	case app.RawHTML:
		// Raw HTML is the caller's own markup, written as is: its author escapes what it
		// interpolates (the QR code's label is the one use).
		v, err := field(ui, "value")
		if err != nil {
			return err
		}
		b.WriteString(v.String())
		return nil
	case app.HTML:
		return writeElement(b, ui, depth)
	}
	return fmt.Errorf("ssr: cannot render %T (kind %v)", ui, ui.Kind())
}

func writeText(b *strings.Builder, s, parentTag string) error {
	switch parentTag {
	case "script", "style":
		// Raw text elements: entities are not decoded there, so the text goes as is, and it
		// must not be able to end its element (JSON from encoding/json escapes "<").
		lower := strings.ToLower(s)
		if strings.Contains(lower, "</"+parentTag) || strings.Contains(lower, "<!--") {
			return fmt.Errorf("ssr: %s text would end its element", parentTag)
		}
		b.WriteString(s)
	default:
		b.WriteString(html.EscapeString(s))
	}
	return nil
}

func writeElement(b *strings.Builder, ui app.UI, depth int) error {
	el, err := element(ui)
	if err != nil {
		return err
	}
	tag := el.FieldByName("tag")
	attrs := el.FieldByName("attributes")
	children := el.FieldByName("children")
	selfClosing := el.FieldByName("isSelfClosing")
	xmlns := el.FieldByName("xmlns")
	if tag.Kind() != reflect.String || attrs.Kind() != reflect.Map || children.Kind() != reflect.Slice ||
		selfClosing.Kind() != reflect.Bool || xmlns.Kind() != reflect.String {
		return fmt.Errorf("ssr: %T does not have go-app v9.8.0's element fields", ui)
	}
	name := tag.String()
	if !validName(name) {
		return fmt.Errorf("ssr: invalid tag name %q", name)
	}
	b.WriteByte('<')
	b.WriteString(name)
	if ns := xmlns.String(); ns != "" {
		Attr(b, "xmlns", ns)
	}
	// Sorted: the same tree gives the same bytes (cacheable, comparable).
	keys := make([]string, 0, attrs.Len())
	for _, k := range attrs.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validName(k) {
			return fmt.Errorf("ssr: invalid attribute name %q on <%s>", k, name)
		}
		v := attrs.MapIndex(reflect.ValueOf(k).Convert(attrs.Type().Key())).String()
		switch {
		case booleanAttrs[k]:
			if on, err := strconv.ParseBool(v); err == nil && !on {
				continue
			}
			b.WriteByte(' ')
			b.WriteString(k)
		case (k == "id" || k == "class") && v == "":
			// go-app drops these when empty; so do we.
		default:
			Attr(b, k, v)
		}
	}
	b.WriteByte('>')
	if selfClosing.Bool() || voidElements[name] {
		return nil
	}
	for i := 0; i < children.Len(); i++ {
		child, err := exported(children.Index(i))
		if err != nil {
			return err
		}
		c, ok := child.Interface().(app.UI)
		if !ok {
			return fmt.Errorf("ssr: child %d of <%s> is not a UI", i, name)
		}
		if err := write(b, c, name, depth+1); err != nil {
			return err
		}
	}
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
	return nil
}

// element returns the htmlElement struct inside one of go-app's element types (each embeds it).
func element(ui app.UI) (reflect.Value, error) {
	v := reflect.ValueOf(ui)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("ssr: %T is not a go-app element", ui)
	}
	el := v.Elem().FieldByName("htmlElement")
	if !el.IsValid() || el.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("ssr: %T does not embed go-app v9.8.0's htmlElement", ui)
	}
	return el, nil
}

// field returns a string field of a go-app text or raw node.
func field(ui app.UI, name string) (reflect.Value, error) {
	v := reflect.ValueOf(ui)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("ssr: %T is not a go-app node", ui)
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.String {
		return reflect.Value{}, fmt.Errorf("ssr: %T has no %s string field (not go-app v9.8.0?)", ui, name)
	}
	return f, nil
}

// exported makes a value read through an unexported field usable as an interface: read-only
// access to go-app's children, which it exposes no other way.
func exported(v reflect.Value) (reflect.Value, error) {
	if !v.CanAddr() {
		return reflect.Value{}, errors.New("ssr: go-app child not addressable")
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem(), nil
}

// validName accepts the tag and attribute names go-app's element methods produce (letters,
// digits, '-', ':', '_'); anything else could break out of the tag.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}
