package checks

import (
	"errors"
	"fmt"
	"slices"

	"github.com/baselinehq/baseline/assets"
)

// Catalog is the set of loaded standards and their items.
type Catalog struct {
	Standards []*Standard
	items     map[uint64]*Item
}

// Item returns the item with the given CustomerPolicyItemId.
func (c *Catalog) Item(id uint64) (*Item, bool) {
	it, ok := c.items[id]
	return it, ok
}

// Standard returns the standard with the given id.
func (c *Catalog) Standard(id string) (*Standard, bool) {
	for _, s := range c.Standards {
		if s.ID == id {
			return s, true
		}
	}
	return nil, false
}

// Items returns every item of every standard, in load order.
func (c *Catalog) Items() []*Item {
	var out []*Item
	for _, s := range c.Standards {
		out = append(out, s.Items...)
	}
	return out
}

// Selection chooses items of a catalog. Every part that is empty leaves
// its dimension unrestricted, except Standards: empty means every
// enabled standard, while standards named here are taken enabled or not.
type Selection struct {
	// Types restricts the asset types of the items.
	Types []assets.Type
	// Standards restricts the standards by id.
	Standards []string
	// Items restricts the items by CustomerPolicyItemId.
	Items []uint64
}

// ErrNothingSelected is returned when a selection matches no item.
var ErrNothingSelected = errors.New("no item matches the selection")

// UnknownStandardError is a selected standard that the catalog does not
// hold.
type UnknownStandardError struct{ ID string }

func (e *UnknownStandardError) Error() string { return fmt.Sprintf("no standard %q", e.ID) }

// UnknownTypeError is a selected asset type that is not one of
// assets.Types.
type UnknownTypeError struct{ Type assets.Type }

func (e *UnknownTypeError) Error() string { return fmt.Sprintf("no asset type %q", e.Type) }

// UnknownItemError is a selected item that the catalog does not hold.
type UnknownItemError struct{ ID uint64 }

func (e *UnknownItemError) Error() string { return fmt.Sprintf("no item with id %d", e.ID) }

// Select returns the items that a selection yields, in load order, and
// the standards that hold at least one of them. The selection is checked
// first, in this order: every standard must be in the catalog
// (*UnknownStandardError), every type one of assets.Types
// (*UnknownTypeError), every item in the catalog (*UnknownItemError); the
// first one that is not is the error. A selection that yields no item is
// ErrNothingSelected. Callers word these errors for their users.
func (c *Catalog) Select(sel Selection) ([]*Item, []*Standard, error) {
	wantStd := map[string]bool{}
	for _, id := range sel.Standards {
		if _, ok := c.Standard(id); !ok {
			return nil, nil, &UnknownStandardError{ID: id}
		}
		wantStd[id] = true
	}
	wantType := map[assets.Type]bool{}
	for _, t := range sel.Types {
		if !slices.Contains(assets.Types, t) {
			return nil, nil, &UnknownTypeError{Type: t}
		}
		wantType[t] = true
	}
	wantItem := map[uint64]bool{}
	for _, id := range sel.Items {
		if _, ok := c.Item(id); !ok {
			return nil, nil, &UnknownItemError{ID: id}
		}
		wantItem[id] = true
	}
	var items []*Item
	var stds []*Standard
	for _, s := range c.Standards {
		if len(wantStd) > 0 && !wantStd[s.ID] || len(wantStd) == 0 && !s.Enabled {
			continue
		}
		n := 0
		for _, it := range s.Items {
			if len(wantType) > 0 && !wantType[it.AssetType] || len(wantItem) > 0 && !wantItem[it.ID] {
				continue
			}
			items = append(items, it)
			n++
		}
		if n > 0 {
			stds = append(stds, s)
		}
	}
	if len(items) == 0 {
		return nil, nil, ErrNothingSelected
	}
	return items, stds, nil
}
